// "Tick all" boxes of bulk lists: <input type="checkbox" data-select-all="NAME" hidden> ticks or
// clears every checkbox named NAME on the page. Hidden (itself, or its wrapper of class
// "select-all") until this script runs: without JavaScript the box would do nothing. Lists
// re-rendered by htmx keep working (delegated events).
(function () {
  function boxes(name) {
    return Array.prototype.filter.call(
      document.querySelectorAll('input[type="checkbox"]'),
      function (box) { return box.name === name && !box.disabled; }
    );
  }
  function sync() {
    document.querySelectorAll("input[data-select-all]").forEach(function (all) {
      var items = boxes(all.dataset.selectAll);
      var ticked = items.filter(function (box) { return box.checked; }).length;
      (all.closest(".select-all") || all).hidden = items.length === 0;
      all.checked = items.length > 0 && ticked === items.length;
      all.indeterminate = ticked > 0 && ticked < items.length;
    });
  }
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.dataset && target.dataset.selectAll) {
      boxes(target.dataset.selectAll).forEach(function (box) { box.checked = target.checked; });
    }
    sync();
  });
  document.addEventListener("DOMContentLoaded", sync);
  document.addEventListener("htmx:afterSwap", sync);
})();
