// The page of a call in progress: both parties' text grows as the live service hears it.
// A partial (provisional) line is replaced by the next partial or settled by the final of
// the same party; when the batch transcript is ready the page moves to the call's page.
(function () {
  "use strict";
  const page = document.querySelector("article.live-call");
  if (!page || !window.EventSource) return;
  const list = document.getElementById("live-transcript");
  const stateLabel = document.getElementById("live-state");
  const open = {};  // role -> the line holding that party's provisional text
  list.querySelectorAll(".turn.partial").forEach(function (line) { open[line.dataset.role] = line; });

  function line(role) {
    const div = document.createElement("div");
    div.className = "turn " + (role === "caller" ? "s0" : "s1");
    div.dataset.role = role;
    const who = document.createElement("span");
    who.className = "who";
    who.textContent = page.dataset[role === "caller" ? "nameCaller" : "nameCallee"];
    div.appendChild(who);
    div.appendChild(document.createElement("p"));
    list.appendChild(div);
    return div;
  }

  const events = new EventSource("/live/" + page.dataset.live + "/events?after=" + page.dataset.after);
  events.addEventListener("text", function (message) {
    const event = JSON.parse(message.data);
    const target = open[event.role] || line(event.role);
    target.querySelector("p").textContent = event.text;
    target.classList.toggle("partial", !event.final);
    open[event.role] = event.final ? null : target;
  });
  events.addEventListener("state", function (message) {
    const state = JSON.parse(message.data);
    if (state.call_url) {
      events.close();
      location.assign(state.call_url);
      return;
    }
    const key = state.state === "unavailable" && state.reason === "limit" ? "limit" : state.state;
    stateLabel.textContent = page.dataset["label" + key.charAt(0).toUpperCase() + key.slice(1)] || state.state;
    stateLabel.className = "state live-" + state.state;
  });
})();
