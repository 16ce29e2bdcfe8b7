// Live hints on application forms. The server's validation stays the authority; this only
// tells the applicant early. Texts come translated from the page (data-* attributes).
(function () {
  "use strict";

  // Characters as the server counts them: line breaks as one, surrounding spaces trimmed.
  function used(text) {
    return Array.from(text.replace(/\r\n?/g, "\n").trim()).length;
  }

  function counter(textarea) {
    var hint = document.getElementById(textarea.dataset.counter);
    var limit = parseInt(textarea.getAttribute("maxlength"), 10);
    var template = textarea.dataset.counterText;
    if (!hint || !limit || !template) return;
    function update() {
      var count = used(textarea.value);
      hint.textContent = template.replace("{used}", count).replace("{limit}", limit);
      hint.classList.toggle("near-limit", count >= limit * 0.9 && count <= limit);
      hint.classList.toggle("over-limit", count > limit);
    }
    textarea.addEventListener("input", update);
    update();
  }

  function largeFiles(input) {
    var limit = parseInt(input.dataset.maxBytes, 10);
    var message = input.dataset.tooLarge;
    if (!limit || !message) return;
    input.addEventListener("change", function () {
      var file = input.files && input.files[0];
      input.setCustomValidity(file && file.size > limit ? message : "");
      if (file && file.size > limit) input.reportValidity();
    });
  }

  document.querySelectorAll("textarea[data-counter]").forEach(counter);
  document.querySelectorAll("input[type=file][data-max-bytes]").forEach(largeFiles);
})();
