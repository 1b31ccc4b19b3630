/* Plotly (4.8 MB) is fetched only when a chart is about to be shown, not with every page that may
   show one. The page includes this script with data-plotly-src (the static URL of the vendored
   bundle, no CDN); window.portalPlotly() loads it once and resolves with window.Plotly. */
(function () {
  "use strict";
  var src = document.currentScript && document.currentScript.dataset.plotlySrc;
  var loading = null;

  window.portalPlotly = function () {
    if (window.Plotly) return Promise.resolve(window.Plotly);
    if (loading) return loading;
    loading = new Promise(function (resolve, reject) {
      var script = document.createElement("script");
      script.src = src;
      script.async = true;
      script.onload = function () { resolve(window.Plotly); };
      script.onerror = function () {
        loading = null;  // a later chart may try again
        script.remove();
        reject(new Error("the chart library did not load"));
      };
      document.head.appendChild(script);
    });
    return loading;
  };
})();
