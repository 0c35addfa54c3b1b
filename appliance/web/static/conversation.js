// A conversation page: a click on a line plays its leg's recording from that moment.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    const target = event.target.closest("[data-seek][data-leg]");
    if (!target) return;
    const player = document.querySelector(`#leg${target.dataset.leg} audio`);
    if (!player) return;
    document.querySelectorAll(".leg-player").forEach(function (other) { if (other !== player) other.pause(); });
    player.currentTime = parseFloat(target.dataset.seek);
    const playing = player.play();
    if (playing) playing.catch(function () {});
  });
})();
