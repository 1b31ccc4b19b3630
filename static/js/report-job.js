/* The PDF report's progress page: polls the job's status (JSON) and shows the stage, the
   percentage and then the download link or the reason it failed. Without JS a reload does it. */
(function () {
  "use strict";
  var box = document.getElementById("report-job");
  if (!box) return;
  var url = box.dataset.statusUrl;
  function show(id, visible) { document.getElementById(id).hidden = !visible; }
  function render(state) {
    var working = state.status === "queued" || state.status === "running";
    show("report-job-preparing", working);
    show("report-job-reload", false);
    document.getElementById("report-job-stage").textContent = state.stage;
    document.getElementById("report-job-progress").textContent = state.progress;
    document.getElementById("report-job-bar").value = state.progress;
    show("report-job-ready", !!state.download_url);
    if (state.download_url) document.getElementById("report-job-download").href = state.download_url;
    show("report-job-failed", !working && !state.download_url);
    if (state.status === "failed") document.getElementById("report-job-error").textContent = state.error;
    return working;
  }
  function poll() {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (state) { if (render(state)) setTimeout(poll, 1000); })
      .catch(function () { setTimeout(poll, 5000); });
  }
  if (box.dataset.status === "queued" || box.dataset.status === "running") setTimeout(poll, 500);
})();
