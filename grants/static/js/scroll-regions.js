// Boxes that scroll on their own (a wide table on a phone, the evaluator's review panel) must be
// reachable with the keyboard (WCAG 2.1.1): one that scrolls and holds nothing focusable gets
// tabindex="0" for as long as it scrolls, so Tab reaches it and the arrow keys scroll it.
(function () {
  "use strict";

  var FOCUSABLE = "a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]";

  function scrolls(element) {
    var style = getComputedStyle(element);
    var x = /auto|scroll/.test(style.overflowX) && element.scrollWidth > element.clientWidth;
    var y = /auto|scroll/.test(style.overflowY) && element.scrollHeight > element.clientHeight;
    return x || y;
  }

  function update() {
    document.querySelectorAll("main *").forEach(function (element) {
      var added = element.hasAttribute("data-scroll-focus");
      if (!added && element.hasAttribute("tabindex")) return;  // the page's own
      var needed = scrolls(element) && !element.querySelector(FOCUSABLE);
      if (needed && !added) {
        element.setAttribute("tabindex", "0");
        element.setAttribute("data-scroll-focus", "");
      } else if (!needed && added) {
        element.removeAttribute("tabindex");
        element.removeAttribute("data-scroll-focus");
      }
    });
  }

  var pending;
  window.addEventListener("resize", function () {
    clearTimeout(pending);
    pending = setTimeout(update, 150);
  });
  update();
})();
