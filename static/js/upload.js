// Uploads with a progress bar. Without JavaScript the form still posts normally.
(function () {
  function setup(form) {
    var bar = form.querySelector(".upload-progress");
    var progress = bar.querySelector("progress");
    var text = bar.querySelector(".progress-text");
    var clientError = form.querySelector(".upload-client-error");
    var maxSize = parseInt(form.dataset.maxSize, 10);
    form.addEventListener("submit", function (event) {
      var input = form.querySelector("input[type=file]");
      var file = input && input.files[0];
      if (file && file.size > maxSize) {
        event.preventDefault();
        clientError.textContent = "This file is larger than the limit of " + form.dataset.maxSizeHuman + "; it was not sent.";
        clientError.hidden = false;
        return;
      }
      event.preventDefault();
      clientError.hidden = true;
      bar.hidden = false;
      form.querySelector("button[type=submit]").disabled = true;
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action || window.location.href);
      xhr.upload.addEventListener("progress", function (e) {
        if (!e.lengthComputable) return;
        var pct = Math.round((e.loaded / e.total) * 100);
        progress.value = pct;
        text.textContent = pct < 100 ? pct + " %" : "Scanning and checking the file…";
      });
      xhr.addEventListener("load", function () {
        if (xhr.responseURL && xhr.responseURL !== window.location.href && xhr.status < 400) {
          window.location.assign(xhr.responseURL);
        } else {
          document.open();
          document.write(xhr.responseText);
          document.close();
        }
      });
      xhr.addEventListener("error", function () {
        clientError.textContent = "The upload failed (network error). Nothing was stored; try again.";
        clientError.hidden = false;
        bar.hidden = true;
        form.querySelector("button[type=submit]").disabled = false;
      });
      xhr.send(new FormData(form));
    });
  }
  document.querySelectorAll("form[data-upload]").forEach(setup);
})();
