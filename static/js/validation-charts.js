/* Results page: a check's plotly charts are fetched and drawn the first time its <details> opens,
   so a page with dozens of checks stays light until someone looks at a chart; plotly itself is
   loaded then too (plotly-on-demand.js), not with the page. */
(function () {
  "use strict";

  // Long labels (feature names such as months_since_most_recent_delinquency) break over lines at
  // "_" or a space, about `width` characters a line: plotly neither wraps nor shortens them.
  function wrap(text, width) {
    if (typeof text !== "string" || text.length <= width) return text;
    var lines = [], line = "";
    text.split(/(?<=[_ ])/).forEach(function (part) {
      if (line && (line + part).length > width) { lines.push(line); line = ""; }
      line += part;
    });
    lines.push(line);
    return lines.join("<br>");
  }

  // Lines of all the labels together (each label's <br>-separated lines, every label counted).
  function linesOf(labels) {
    return labels.reduce(function (sum, label) {
      return sum + (typeof label === "string" ? label.split("<br>").length : 1);
    }, 0);
  }

  // The stored figures carry fixed margins; on screen the axes take the room their labels need
  // (automargin), category labels wrap to the chart's width, and the title sits left under
  // plotly's toolbar (top right) rather than beneath it; narrow charts go without the toolbar.
  function fit(figure, width) {
    var chars = Math.max(14, Math.floor(width / 3 / 7));
    var data = (figure.data || []).map(function (trace) {
      var copy = Object.assign({}, trace);
      if (copy.orientation === "h" && Array.isArray(copy.y)) copy.y = copy.y.map(function (v) { return wrap(v, chars); });
      return copy;
    });
    var layout = Object.assign({}, figure.layout || {}, {autosize: true});
    ["xaxis", "yaxis"].forEach(function (name) {
      var axis = Object.assign({}, layout[name] || {}, {automargin: true});
      if (Array.isArray(axis.ticktext)) axis.ticktext = axis.ticktext.map(function (v) { return wrap(v, chars); });
      layout[name] = axis;
    });
    var title = layout.title;
    if (typeof title === "string") title = {text: title};
    var lines = 0;
    if (title && title.text) {
      var text = wrap(title.text, Math.max(20, Math.floor(width / 8)));
      lines = text.split("<br>").length;
      layout.title = Object.assign({}, title, {text: text, x: 0, xref: "container", xanchor: "left",
                                               y: 1, yref: "container", yanchor: "top", pad: {l: 12, t: 34}});
    }
    layout.margin = Object.assign({}, layout.margin || {});
    layout.margin.t = Math.max(layout.margin.t || 0, 44 + 20 * lines);
    // Wrapped category labels need height, about 18 px a line of each label, or they overlap; the
    // chart box's own height (360 px, .chart in _validation_styles.html) is the least.
    var labelLines = 0;
    data.forEach(function (trace) {
      if (trace.orientation === "h" && Array.isArray(trace.y)) labelLines = Math.max(labelLines, linesOf(trace.y));
    });
    if (Array.isArray(layout.yaxis.ticktext)) labelLines = Math.max(labelLines, linesOf(layout.yaxis.ticktext));
    var needed = labelLines * 18 + layout.margin.t + 90;
    if (needed > (layout.height || 360)) layout.height = needed;
    // Below about 480 px the toolbar wraps onto the title and the plot; a phone pinches instead.
    var config = {responsive: true, displaylogo: false, displayModeBar: width >= 480 ? "hover" : false};
    return {data: data, layout: layout, config: config};
  }

  function draw(details) {
    if (details.dataset.state === "loading" || details.dataset.state === "drawn") return;
    details.dataset.state = "loading";
    var box = details.querySelector(".charts");
    // The figures and, the first time, the chart library (plotly-on-demand.js) load side by side.
    var figures = fetch(details.dataset.chartsUrl, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      });
    Promise.all([figures, window.portalPlotly()])
      .then(function (loaded) {
        var body = loaded[0];
        box.textContent = "";
        body.charts.forEach(function (figure) {
          var chart = document.createElement("div");
          chart.className = "chart";
          box.appendChild(chart);
          chart.figure = figure;
          var fitted = fit(figure, chart.clientWidth || box.clientWidth || 600);
          window.Plotly.newPlot(chart, fitted.data, fitted.layout, fitted.config);
        });
        details.dataset.state = "drawn";
      })
      .catch(function (error) {
        box.textContent = "The charts could not be loaded (" + error.message + "). Close and open again to retry.";
        details.dataset.state = "";
      });
  }

  // A phone turned sideways or a resized window: labels and title are wrapped again for the new width.
  var resizing = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizing);
    resizing = setTimeout(function () {
      document.querySelectorAll(".chart.js-plotly-plot").forEach(function (chart) {
        if (!chart.figure || !chart.clientWidth) return;
        var fitted = fit(chart.figure, chart.clientWidth);
        window.Plotly.react(chart, fitted.data, fitted.layout, fitted.config);
      });
    }, 100);
  });

  // "toggle" does not bubble; listening in the capture phase catches every <details> on the page.
  document.addEventListener("toggle", function (event) {
    var details = event.target;
    if (details.matches && details.matches("details.js-charts") && details.open) draw(details);
  }, true);
  // Charts open when the page loads (a failing family's, a reload) are drawn now.
  document.querySelectorAll("details.js-charts[open]").forEach(draw);
})();
