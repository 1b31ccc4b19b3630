/* Risk register charts: figures are built server-side (plotly, Python) and embedded as JSON in
   <script type="application/json" id="..."> blocks; each .js-plotly element names its block.
   A heatmap cell click opens the register filtered to that cell. */
(function () {
  "use strict";

  function draw(element) {
    var source = document.getElementById(element.dataset.figure);
    if (!source || !window.Plotly) return;
    var figure = JSON.parse(source.textContent);
    var layout = Object.assign({}, figure.layout || {}, {autosize: true});
    window.Plotly.newPlot(element, figure.data || [], layout, {responsive: true, displaylogo: false,
                                                               displayModeBar: false}).then(function () {
      element.dataset.drawn = "true";
    });
    if (!element.dataset.cellUrl) return;
    element.on("plotly_click", function (event) {
      var point = event.points && event.points[0];
      if (!point) return;
      var url = element.dataset.cellUrl.replace("__L__", point.x).replace("__I__", point.y);
      window.location.assign(url);
    });
  }

  document.querySelectorAll(".js-plotly").forEach(draw);
})();
