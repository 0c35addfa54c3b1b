// Call page: the player bar (sticky, ±5 s, speed, timeline with a playhead that seeks),
// the playing turn and word highlighted and followed, keyboard shortcuts, words reachable by
// keyboard. Every text lives in the template (translated); this script only moves and toggles.
(function () {
  "use strict";
  const player = document.getElementById("player");
  if (!player) return;
  const transcript = document.getElementById("transcript");
  const bar = document.getElementById("player-bar");
  const timeline = document.getElementById("timeline");
  const playhead = document.getElementById("playhead");
  const speed = document.getElementById("speed");
  const follow = document.getElementById("follow");
  const resume = document.getElementById("resume-follow");
  const help = document.getElementById("shortcuts");
  const turns = transcript ? Array.from(transcript.querySelectorAll(".turn")) : [];
  const words = transcript ? Array.from(transcript.querySelectorAll(".w")) : [];
  const RATES = speed ? Array.from(speed.options).map(function (o) { return parseFloat(o.value); }) : [1];

  function length() {
    return isFinite(player.duration) && player.duration > 0 ? player.duration : parseFloat(bar.dataset.duration);
  }

  function play() {
    const playing = player.play();
    if (playing && playing.catch) playing.catch(function () { /* autoplay refused: position still set */ });
  }

  function seek(seconds, andPlay) {
    player.currentTime = Math.max(0, Math.min(seconds, length()));
    update();
    if (andPlay) play();
  }

  function toggle() {
    if (player.paused) play(); else player.pause();
  }

  // --- what is playing now -------------------------------------------------------------------
  function playingAt(items, now, lead, lag) {
    return items.find(function (item) {
      const start = parseFloat(item.dataset.start || item.dataset.seek);
      return now >= start - lead && now <= parseFloat(item.dataset.end) + lag;
    }) || null;
  }

  let currentTurn = null;
  let currentWord = null;
  function update() {
    const now = player.currentTime;
    if (playhead) {
      const x = Math.min(now / length(), 1) * 1000;
      playhead.setAttribute("x1", x.toFixed(1));
      playhead.setAttribute("x2", x.toFixed(1));
      timeline.setAttribute("aria-valuenow", Math.round(now));
    }
    const turn = playingAt(turns, now, 0.05, 0.3);
    if (turn !== currentTurn) {
      if (currentTurn) currentTurn.classList.remove("current");
      if (turn) turn.classList.add("current");
      currentTurn = turn;
    }
    const word = playingAt(words, now, 0.02, 0);
    if (word !== currentWord) {
      if (currentWord) currentWord.classList.remove("now");
      if (word) word.classList.add("now");
      currentWord = word;
      if (word && following()) keepInView(word);
    }
  }
  player.addEventListener("timeupdate", update);
  player.addEventListener("seeked", update);
  player.addEventListener("durationchange", update);
  // timeupdate comes about four times a second; while playing, follow each frame instead.
  function tick() {
    update();
    if (!player.paused) requestAnimationFrame(tick);
  }
  player.addEventListener("play", function () { requestAnimationFrame(tick); });

  // --- follow mode: the page scrolls with the audio until the user scrolls by hand -------------
  let scrolledByUs = 0;
  function following() { return follow && follow.checked; }
  function keepInView(element) {
    const box = element.getBoundingClientRect();
    const top = bar.getBoundingClientRect().bottom;
    if (box.top >= top + 40 && box.bottom <= window.innerHeight - 40) return;
    scrolledByUs = performance.now();
    element.scrollIntoView({ block: "center" });
  }
  function stopFollowing() {
    if (!following() || player.paused) return;
    follow.checked = false;
    resume.hidden = false;
  }
  function startFollowing() {
    follow.checked = true;
    resume.hidden = true;
    if (currentWord) keepInView(currentWord);
  }
  if (follow) {
    // The wheel and touch are the user's; so is any other scroll the script did not start
    // (the scrollbar, Page Up/Down).
    window.addEventListener("wheel", stopFollowing, { passive: true });
    window.addEventListener("touchmove", stopFollowing, { passive: true });
    window.addEventListener("scroll", function () {
      if (performance.now() - scrolledByUs > 150) stopFollowing();
    }, { passive: true });
    follow.addEventListener("change", function () { if (follow.checked) startFollowing(); else resume.hidden = true; });
    resume.addEventListener("click", startFollowing);
  }

  // --- controls ------------------------------------------------------------------------------------
  bar.addEventListener("click", function (event) {
    const skip = event.target.closest("[data-skip]");
    if (skip) seek(player.currentTime + parseFloat(skip.dataset.skip), false);
  });
  function setRate(rate) {
    player.playbackRate = rate;
    player.defaultPlaybackRate = rate;
    if (speed) speed.value = String(rate);
    try { localStorage.setItem("playbackRate", String(rate)); } catch (e) { /* private mode */ }
  }
  if (speed) {
    speed.addEventListener("change", function () { setRate(parseFloat(speed.value)); });
    let saved = NaN;
    try { saved = parseFloat(localStorage.getItem("playbackRate")); } catch (e) { /* private mode */ }
    if (RATES.indexOf(saved) >= 0) setRate(saved);
  }
  function stepRate(step) {
    const at = RATES.indexOf(player.playbackRate);
    const next = RATES[Math.max(0, Math.min(RATES.length - 1, (at < 0 ? RATES.indexOf(1) : at) + step))];
    setRate(next);
  }
  if (timeline) {
    timeline.addEventListener("click", function (event) {
      const box = timeline.getBoundingClientRect();
      seek((event.clientX - box.left) / box.width * length(), true);
    });
  }
  document.getElementById("shortcuts-open").addEventListener("click", function () { help.showModal(); });

  document.addEventListener("click", function (event) {
    const target = event.target.closest("[data-seek]");
    if (target) seek(parseFloat(target.dataset.seek), true);
  });

  // --- words by keyboard: one Tab stop for the whole transcript, arrows move inside ------------------
  if (words.length) words[0].tabIndex = 0;
  function focusWord(word) {
    if (!word) return;
    words.forEach(function (w) { w.tabIndex = -1; });
    word.tabIndex = 0;
    word.focus();
  }
  function wordKeys(event, word) {
    const at = words.indexOf(word);
    if (event.key === "ArrowRight") focusWord(words[at + 1]);
    else if (event.key === "ArrowLeft") focusWord(words[at - 1]);
    else if (event.key === "Home") focusWord(words[0]);
    else if (event.key === "End") focusWord(words[words.length - 1]);
    else if (event.key === "Enter") seek(parseFloat(word.dataset.seek), true);
    else return false;
    return true;
  }

  // --- shortcuts ---------------------------------------------------------------------------------
  function typing(element) {
    return element && (element.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(element.tagName));
  }
  function nextTurn(step) {
    const at = currentTurn ? turns.indexOf(currentTurn) : -1;
    const turn = turns[Math.max(0, Math.min(turns.length - 1, at + step))];
    if (turn) seek(parseFloat(turn.dataset.start), !player.paused);
  }
  const KEYS = {
    " ": toggle, k: toggle,
    j: function () { seek(player.currentTime - 5, false); }, ArrowLeft: function () { seek(player.currentTime - 5, false); },
    l: function () { seek(player.currentTime + 5, false); }, ArrowRight: function () { seek(player.currentTime + 5, false); },
    ArrowUp: function () { nextTurn(-1); }, ArrowDown: function () { nextTurn(1); },
    "<": function () { stepRate(-1); }, ">": function () { stepRate(1); },
    f: function () { if (follow) { if (following()) { follow.checked = false; } else { startFollowing(); } } },
    "?": function () { help.showModal(); },
  };
  document.addEventListener("keydown", function (event) {
    // The native controls and form fields keep their own keys.
    if (event.ctrlKey || event.metaKey || event.altKey || event.target === player || typing(event.target) || help.open) return;
    const word = event.target.closest && event.target.closest(".w");
    if (word && wordKeys(event, word)) { event.preventDefault(); return; }
    const action = KEYS[event.key.length === 1 ? event.key.toLowerCase() : event.key] || KEYS[event.key];
    if (!action) return;
    event.preventDefault(); // Space must not scroll the page, arrows must not move it
    action();
  });

  // Links from search results carry #t=SECONDS: start there.
  const match = location.hash.match(/^#t=([\d.]+)/);
  if (match) {
    // preload="none" (opening a page is not listening): before the first play the position
    // is kept as where playback will start.
    player.currentTime = parseFloat(match[1]);
    update();
    if (currentTurn) currentTurn.scrollIntoView({ block: "center" });
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
