// "Select all on this page": a checkbox (data-select-all="<name>", hidden until this script shows it) ticks
// or clears the checkboxes of that name in the same form; it shows as mixed when only some are ticked.
// Without scripts the page offers a link that shows the page with every row ticked.
(function () {
  "use strict";

  document.querySelectorAll("input[type=checkbox][data-select-all]").forEach(function (all) {
    var form = all.getAttribute("form");
    var boxes = Array.prototype.filter.call(
      document.querySelectorAll("input[type=checkbox][name='" + all.dataset.selectAll + "']"),
      function (box) { return box.getAttribute("form") === form; });
    if (!boxes.length) return;

    function update() {
      var ticked = boxes.filter(function (box) { return box.checked; }).length;
      all.checked = ticked === boxes.length;
      all.indeterminate = ticked > 0 && ticked < boxes.length;
    }

    all.addEventListener("change", function () {
      boxes.forEach(function (box) { box.checked = all.checked; });
      update();
    });
    boxes.forEach(function (box) { box.addEventListener("change", update); });
    all.hidden = false;
    document.querySelectorAll("[data-select-all-link]").forEach(function (link) { link.hidden = true; });
    update();
  });
})();
