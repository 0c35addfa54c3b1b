// Calls list: the "in progress" box is re-fetched every few seconds while the page is open.
(function () {
  "use strict";
  const box = document.getElementById("in-progress");
  if (!box || box.dataset.polling) return;
  box.dataset.polling = "1";
  setInterval(function () {
    fetch(box.dataset.refresh, { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (html === null) return;
        const fresh = new DOMParser().parseFromString(html, "text/html").getElementById("in-progress");
        if (fresh) box.innerHTML = fresh.innerHTML;
      })
      .catch(function () {});
  }, 3000);
})();
