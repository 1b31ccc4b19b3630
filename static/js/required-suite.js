// Validation form: show the "lighter than required" warning as soon as a lighter suite is picked.
// The server renders the same warning for the preselected suite; this only keeps it current.
(function () {
  "use strict";
  var RANKS = { quick: 0, standard: 1, full: 2 };
  function update() {
    var select = document.getElementById("id_suite");
    var notice = document.querySelector("[data-testid=required-suite]");
    if (!select || !notice) return;
    var warning = notice.querySelector("[data-testid=lighter-suite-warning]");
    var required = notice.getAttribute("data-required-rank");
    if (!warning || required === "") return;
    var chosen = select.value === "" ? Number(required) : RANKS[select.value];
    warning.hidden = !(chosen < Number(required));
  }
  document.addEventListener("change", function (event) {
    if (event.target && event.target.id === "id_suite") update();
  });
  document.addEventListener("DOMContentLoaded", update);
})();
