/* Shows the Print buttons of a printable page ([data-print]) and prints when one is pressed.
   A static file, not inline script: the pages' Content-Security-Policy allows only these. */
(function () {
  "use strict";
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });
})();
