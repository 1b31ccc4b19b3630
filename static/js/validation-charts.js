/* Results page: a check's plotly charts are fetched and drawn the first time its <details> opens,
   so a page with dozens of checks stays light until someone looks at a chart. */
(function () {
  "use strict";

  function draw(details) {
    if (details.dataset.state === "loading" || details.dataset.state === "drawn") return;
    details.dataset.state = "loading";
    var box = details.querySelector(".charts");
    fetch(details.dataset.chartsUrl, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (body) {
        box.textContent = "";
        body.charts.forEach(function (figure) {
          var chart = document.createElement("div");
          chart.className = "chart";
          box.appendChild(chart);
          var layout = Object.assign({}, figure.layout || {}, {autosize: true});
          window.Plotly.newPlot(chart, figure.data || [], layout, {responsive: true, displaylogo: false});
        });
        details.dataset.state = "drawn";
      })
      .catch(function (error) {
        box.textContent = "The charts could not be loaded (" + error.message + "). Close and open again to retry.";
        details.dataset.state = "";
      });
  }

  // "toggle" does not bubble; listening in the capture phase catches every <details> on the page.
  document.addEventListener("toggle", function (event) {
    var details = event.target;
    if (details.matches && details.matches("details.js-charts") && details.open) draw(details);
  }, true);
  // Charts opened while plotly (a large script) was still loading are drawn now.
  document.querySelectorAll("details.js-charts[open]").forEach(draw);
})();
