// Copy buttons for secrets shown once (a new password, a new API token): the button copies the
// text of the element its data-copy names. The page works without it (the text can be selected),
// so the button stays hidden until this script runs. The clipboard API needs a secure context
// (HTTPS or localhost); on plain HTTP in the LAN the older execCommand("copy") does the job.
(function () {
  "use strict";

  function selectText(element) {
    const range = document.createRange();
    range.selectNodeContents(element);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  function copy(element) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(element.textContent);
    }
    selectText(element);
    return document.execCommand("copy") ? Promise.resolve() : Promise.reject(new Error("copy refused"));
  }

  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    const element = document.getElementById(button.dataset.copy);
    if (!element) return;
    const label = button.textContent;
    button.hidden = false;
    button.addEventListener("click", function () {
      copy(element).then(function () {
        button.textContent = button.dataset.copied;
      }, function () {
        selectText(element);  // at least ready for Ctrl+C
        button.textContent = button.dataset.failed;
      });
      setTimeout(function () { button.textContent = label; }, 3000);
    });
  });
})();
