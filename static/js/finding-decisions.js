/* Submission review page: a finding's decision (or comment) form is answered with that finding's
   card, swapped in place by htmx, so the page neither reloads nor jumps to the top. A refusal
   (missing justification, someone changed it meanwhile) comes back as the card with the input
   kept and a 400/409: htmx leaves error answers out by default, so they are let in here. Other
   errors (403, 404, 500) are said next to the form's button. */
(function () {
  "use strict";
  var SWAPPED_ERRORS = [400, 409];

  function inFindingCard(element) {
    return element && element.closest && element.closest(".finding-card");
  }

  document.body.addEventListener("htmx:beforeSwap", function (event) {
    var detail = event.detail;
    if (!inFindingCard(detail.elt)) return;
    if (SWAPPED_ERRORS.indexOf(detail.xhr.status) !== -1) {
      detail.shouldSwap = true;
      detail.isError = false;
    }
  });

  document.body.addEventListener("htmx:responseError", function (event) {
    var form = event.detail.elt;
    if (!inFindingCard(form) || SWAPPED_ERRORS.indexOf(event.detail.xhr.status) !== -1) return;
    var note = form.querySelector(".js-request-error");
    if (!note) {
      note = document.createElement("div");
      note.className = "msg msg-error js-request-error";
      note.setAttribute("role", "alert");
      form.prepend(note);
    }
    note.textContent = event.detail.xhr.status === 403
      ? "Not recorded: you may not do this on this submission (reload the page to see why)."
      : "Not recorded: the portal answered with an error (" + event.detail.xhr.status + "). Try again, or reload the page.";
  });
})();
