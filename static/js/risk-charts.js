/* Risk register charts: figures are built server-side and embedded as JSON in
   <script type="application/json" id="..."> blocks; each .js-plotly element names its block.
   The page (counts, the tables under the charts) shows at once; plotly (plotly-on-demand.js) is
   loaded when a chart comes into view and each chart is drawn then. A heatmap cell click opens
   the register filtered to that cell. */
(function () {
  "use strict";

  function draw(element) {
    if (element.dataset.drawn) return;
    element.dataset.drawn = "loading";
    var source = document.getElementById(element.dataset.figure);
    if (!source) return;
    var figure = JSON.parse(source.textContent);
    var layout = Object.assign({}, figure.layout || {}, {autosize: true});
    window.portalPlotly().then(function (Plotly) {
      return Plotly.newPlot(element, figure.data || [], layout, {responsive: true, displaylogo: false,
                                                                 displayModeBar: false});
    }).then(function () {
      element.dataset.drawn = "true";
      if (!element.dataset.cellUrl) return;
      element.on("plotly_click", function (event) {
        var point = event.points && event.points[0];
        if (!point) return;
        var url = element.dataset.cellUrl.replace("__L__", point.x).replace("__I__", point.y);
        window.location.assign(url);
      });
    }).catch(function (error) {
      element.dataset.drawn = "";
      element.textContent = "The chart could not be drawn (" + error.message + "); the table below has the counts.";
    });
  }

  var charts = document.querySelectorAll(".js-plotly");
  if (!("IntersectionObserver" in window)) {
    charts.forEach(draw);
    return;
  }
  var observer = new IntersectionObserver(function (entries) {
    entries.forEach(function (entry) {
      if (!entry.isIntersecting) return;
      observer.unobserve(entry.target);
      draw(entry.target);
    });
  }, {rootMargin: "200px"});
  charts.forEach(function (chart) { observer.observe(chart); });
})();
