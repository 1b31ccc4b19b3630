/* The PDF report is rendered when first asked for (about 10 s; later downloads come from the
   cache), and a download leaves the page as it was: the link says the file is coming meanwhile. */
(function () {
  "use strict";
  document.querySelectorAll("a[data-busy-text]").forEach(function (link) {
    var label = link.textContent;
    link.addEventListener("click", function () {
      link.textContent = link.dataset.busyText;
      link.setAttribute("aria-busy", "true");
      // A download fires no event the page can see; the label comes back after the usual wait.
      setTimeout(function () {
        link.textContent = label;
        link.removeAttribute("aria-busy");
      }, 15000);
    });
  });
})();
