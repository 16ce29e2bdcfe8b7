/* Draws every <pre class="mermaid"> on the page with the vendored Mermaid (no network).
   "strict": labels are plain text, no HTML or click handlers from the diagram source.
   A diagram first fits the page width; its zoom button switches to the drawing's own size. */
(function () {
  "use strict";
  if (!window.mermaid) {
    return;  // the tables next to the diagram say the same
  }
  window.mermaid.initialize({startOnLoad: true, securityLevel: "strict", theme: "default",
                             state: {useMaxWidth: true}});

  function toggle(button) {
    var figure = document.getElementById(button.getAttribute("aria-controls"));
    var svg = figure && figure.querySelector("svg");
    if (!svg) {
      return;
    }
    var full = button.dataset.fullSize !== "true";
    svg.style.width = full ? svg.viewBox.baseVal.width + "px" : "";
    svg.style.maxWidth = full ? "none" : svg.viewBox.baseVal.width + "px";
    button.dataset.fullSize = full ? "true" : "false";
    button.textContent = full ? button.dataset.labelFit : button.dataset.labelFull;
  }

  document.querySelectorAll("button[data-diagram-zoom]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { toggle(button); });
  });
})();
