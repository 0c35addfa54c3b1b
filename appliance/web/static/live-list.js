// Calls list: states change in place as jobs move on (server-sent events); new calls on the
// first page appear by reloading it.
(function () {
  "use strict";
  const table = document.querySelector("table[data-live-updates]");
  if (!table || !window.EventSource) return;
  // Only the unfiltered first page, newest first, shows every new call; elsewhere new calls
  // wait for a reload.
  const params = new URLSearchParams(location.search);
  const showsNewCalls = ["page", "from", "to", "number", "state", "sort", "dir"].every(function (key) {
    const value = params.get(key);
    return !value || (key === "page" && value === "1") || (key === "sort" && value === "start") ||
      (key === "dir" && value === "desc");
  });
  // Why a job failed, in the page's language: the server's text for the case (rendered into the
  // table with its placeholders), filled in as Python's "%(name)s" would be; English otherwise.
  const errorTexts = JSON.parse(table.dataset.jobErrors || "{}");
  function errorText(call) {
    const text = errorTexts[call.error_code];
    const values = call.error_values || {};
    let complete = Boolean(text);
    const said = (text || "").replace(/%\((\w+)\)s|%%/g, function (match, name) {
      if (!name) return "%";
      if (!(name in values)) complete = false;
      return String(values[name]);
    });
    return complete ? said : call.error;
  }
  const events = new EventSource("/events?since=" + encodeURIComponent(table.dataset.since));
  events.addEventListener("call", function (message) {
    const call = JSON.parse(message.data);
    const cell = table.querySelector('[data-state-for="' + call.id + '"]');
    if (!cell) {
      if (showsNewCalls) location.reload();
      return;
    }
    const label = table.dataset["label" + call.state.charAt(0).toUpperCase() + call.state.slice(1)] || call.state;
    cell.textContent = label.replace("{p}", Math.round(call.progress * 100));
    cell.className = "state " + call.state;
    if (call.error) cell.title = errorText(call);
    if (call.state === "done") {
      const duration = table.querySelector('[data-duration-for="' + call.id + '"]');
      if (duration && call.duration != null && !duration.textContent.trim()) location.reload();
    }
  });
})();
