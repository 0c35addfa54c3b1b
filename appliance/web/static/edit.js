// Transcript corrections on the call page, for users who may edit (the template adds the hooks
// only for them; the server checks again). On a word (Tab into the transcript, arrows to move):
// E or F2 or a double-click corrects it, S splits the turn before it, M merges its turn with the
// next, R gives its turn to the other speaker; N / Shift+N go to the next / previous unsure word
// and play it. A corrected word is updated in place; splits, merges and speaker changes reload.
(function () {
  "use strict";
  const transcript = document.getElementById("transcript");
  if (!transcript || !transcript.dataset.editUrl) return;
  const player = document.getElementById("player");
  const dialog = document.getElementById("edit-word");
  const input = dialog.querySelector("input[name=text]");
  const problem = dialog.querySelector("[role=alert]");
  const speakers = parseInt(transcript.dataset.speakers, 10);
  let editing = null; // the word being corrected

  function turnOf(element) { return element.closest(".turn"); }

  function send(fields) {
    const body = new URLSearchParams(fields);
    body.set("csrf_token", document.querySelector("meta[name=csrf-token]").content);
    return fetch(transcript.dataset.editUrl, {
      method: "POST", body: body, credentials: "same-origin", headers: { Accept: "application/json" },
    }).then(function (response) {
      return response.json().catch(function () { return { error: response.statusText }; }).then(function (answer) {
        if (!response.ok) throw new Error(answer.error || response.statusText);
        return answer;
      });
    });
  }

  // The page shows turns, speakers and revisions as stored: after a change of structure, reload
  // at the same moment.
  function reloadAt(turn) {
    location.hash = "t=" + parseFloat(turn.dataset.start).toFixed(2);
    location.reload();
  }

  function structural(action, word) {
    const turn = turnOf(word);
    const fields = { action: action, turn: turn.dataset.turn };
    if (action === "split") fields.word = word.dataset.word;
    if (action === "speaker") {
      const now = parseInt(turn.className.match(/\bs(\d+)\b/)[1], 10);
      fields.speaker = String((now + 1) % speakers);
    }
    return send(fields).then(function () { reloadAt(turn); });
  }

  function openEditor(word) {
    editing = word;
    input.value = word.textContent;
    problem.hidden = true;
    dialog.showModal();
    input.select();
  }

  dialog.addEventListener("close", function () {
    if (dialog.returnValue !== "save" || !editing) { if (editing) editing.focus(); return; }
    const word = editing;
    send({ action: "word", turn: turnOf(word).dataset.turn, word: word.dataset.word, text: input.value })
      .then(function (answer) {
        word.textContent = answer.words[parseInt(word.dataset.word, 10)];
        word.classList.remove("unsure");
        word.removeAttribute("title");
        word.classList.add("corrected");
        word.focus();
      })
      .catch(function (error) {
        problem.textContent = error.message;
        problem.hidden = false;
        dialog.showModal();
      });
  });
  dialog.querySelector("[data-close]").addEventListener("click", function () { dialog.close("cancel"); });
  dialog.querySelector("[data-edit=split]").addEventListener("click", function () {
    const word = editing;
    dialog.close("cancel");
    structural("split", word).catch(function (error) { alert(error.message); });
  });

  transcript.addEventListener("dblclick", function (event) {
    const word = event.target.closest(".w");
    if (word) openEditor(word);
  });
  transcript.addEventListener("click", function (event) {
    const button = event.target.closest("[data-edit]");
    if (!button) return;
    const word = turnOf(button).querySelector(".w") || button;
    structural(button.dataset.edit, word).catch(function (error) { alert(error.message); });
  });

  function unsure(step) {
    const all = Array.from(transcript.querySelectorAll(".w"));
    const from = all.indexOf(document.activeElement);
    const order = step > 0 ? all.slice(from + 1) : all.slice(0, Math.max(from, 0)).reverse();
    const next = order.find(function (w) { return w.classList.contains("unsure"); });
    if (!next) return;
    all.forEach(function (w) { w.tabIndex = -1; });
    next.tabIndex = 0;
    next.focus();
    // Hear it with a little before it, to judge what was said.
    player.currentTime = Math.max(0, parseFloat(next.dataset.seek) - 0.5);
    const playing = player.play();
    if (playing && playing.catch) playing.catch(function () {});
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || dialog.open) return;
    if (/^(INPUT|TEXTAREA|SELECT)$/.test(event.target.tagName)) return;
    if (event.key === "n" || event.key === "N") {
      event.preventDefault();
      unsure(event.shiftKey ? -1 : 1);
      return;
    }
    const word = event.target.closest && event.target.closest("#transcript .w");
    if (!word) return;
    const action = { e: "word", F2: "word", s: "split", m: "merge", r: "speaker" }[event.key.length === 1 ? event.key.toLowerCase() : event.key];
    if (!action) return;
    event.preventDefault();
    if (action === "word") openEditor(word);
    else structural(action, word).catch(function (error) { alert(error.message); });
  });
})();
