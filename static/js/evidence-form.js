// The evidence form shows only the fields of the chosen kind. Without JavaScript every kind's
// fields are shown and the server takes only the chosen kind's (the form still works).
(function () {
  function setup(form) {
    var kind = form.querySelector("select[name=kind]");
    if (!kind) return;
    function show() {
      form.querySelectorAll("[data-evidence-kind]").forEach(function (fieldset) {
        var on = fieldset.dataset.evidenceKind === kind.value;
        fieldset.hidden = !on;
        fieldset.disabled = !on;
      });
    }
    kind.addEventListener("change", show);
    show();
  }
  document.querySelectorAll("form.evidence-form").forEach(setup);
})();
