// Call page: click a turn or a word to play from there; the turn being played is highlighted.
(function () {
  "use strict";
  const player = document.getElementById("player");
  const transcript = document.getElementById("transcript");
  if (!player) return;
  const turns = transcript ? Array.from(transcript.querySelectorAll(".turn")) : [];

  function seek(seconds) {
    player.currentTime = seconds;
    const playing = player.play();
    if (playing && playing.catch) playing.catch(function () { /* autoplay refused: position still set */ });
  }

  document.addEventListener("click", function (event) {
    const target = event.target.closest("[data-seek]");
    if (!target) return;
    seek(parseFloat(target.dataset.seek));
  });

  let current = null;
  function highlight() {
    const now = player.currentTime;
    const turn = turns.find(function (t) {
      return now >= parseFloat(t.dataset.start) - 0.05 && now <= parseFloat(t.dataset.end) + 0.3;
    }) || null;
    if (turn === current) return;
    if (current) current.classList.remove("current");
    if (turn) turn.classList.add("current");
    current = turn;
  }
  player.addEventListener("timeupdate", highlight);
  player.addEventListener("seeked", highlight);

  // Links from search results carry #t=SECONDS: start there.
  const match = location.hash.match(/^#t=([\d.]+)/);
  if (match) {
    const at = parseFloat(match[1]);
    const show = function () {
      player.currentTime = at;
      highlight();
      if (current) current.scrollIntoView({ block: "center" });
    };
    // preload="none" (opening a page is not listening): before the first play the position
    // is kept as where playback will start.
    show();
  }

  // A call still being transcribed reloads itself when its transcript is stored.
  const article = document.querySelector("article.call");
  const state = article && article.querySelector("[data-state-for]");
  if (state && !state.classList.contains("done") && window.EventSource) {
    const events = new EventSource("/events?since=" + encodeURIComponent(article.dataset.since));
    events.addEventListener("call", function (message) {
      const call = JSON.parse(message.data);
      if (String(call.id) === article.dataset.call && call.state !== "running") location.reload();
    });
  }
})();
