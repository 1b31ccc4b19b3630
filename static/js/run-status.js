/* Run page: the message shown when the run was started ("Validation #N started …") is about the
   start. The status card polls itself (htmx) and stops polling once the run is final; from then on
   that message would contradict it, so the messages shown with the page go. */
(function () {
  "use strict";

  var card = document.getElementById("run-status");
  if (!card || !card.hasAttribute("hx-get")) return;  // finished already: its messages are current
  document.body.addEventListener("htmx:afterSettle", function () {
    var now = document.getElementById("run-status");
    if (!now || now.hasAttribute("hx-get")) return;
    var messages = document.getElementById("messages");
    if (messages) messages.textContent = "";
  });
})();
