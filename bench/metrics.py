"""Accuracy and speed of the conversation metrics measured on channels (appliance.analytics).

    .venv/bin/python bench/metrics.py                      # 20 calls, then a 30-minute one
    .venv/bin/python bench/metrics.py --calls 50 --seed 3 --minutes 60

Accuracy: N random two-party stereo calls of real speech (Asterisk's prompts, placed at known
times by tests/support/placed_calls.py: answers after pauses, overlaps, interruptions where the
interrupted party stops or talks on, each party's echo 40 ms late at -24 dB, line noise). Each is
written as MixMonitor writes it (8 kHz stereo), decoded by the appliance and measured by the
metrics stage; the truth is the same metric definitions applied to the placed speech. Printed:
mean and max absolute error per metric, and how often the counts are exact.

Speed: one long call of the same kind; the stage's time (decode apart) per hour of call, and as
a share of transcription at the batched Whisper bar (0.06 x real time, docs DESIGN.md).
Prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = BENCH_DIR.parent
sys.path[:0] = [str(PROJECT_ROOT), str(PROJECT_ROOT / "tests")]

from appliance import democall  # noqa: E402
from appliance.analytics.metrics import compute  # noqa: E402
from appliance.analytics.stage import measure  # noqa: E402
from appliance.audio import load_recording  # noqa: E402
from appliance.transcript.model import CallMeta, Speaker, Transcript  # noqa: E402
from support.placed_calls import Placement, place_voices  # noqa: E402

# Prompts whose speech has no pause of half a second or more inside (their truth is one span).
PROMPTS = ("tt-weasels", "vm-nobodyavail", "privacy-prompt", "queue-periodic-announce", "conf-onlyperson",
           "vm-intro", "agent-user", "privacy-unident", "demo-thanks", "tt-somethingwrong", "hello-world",
           "queue-thankyou", "vm-goodbye")
BATCHED_RTF = 0.06
SECONDS = ("talk caller", "talk callee", "overlap", "silence", "longest silence", "monologue caller",
           "monologue callee", "response gap max")
COUNTS = ("overlap count", "interruptions caller", "interruptions callee")


def random_script(rng: np.random.Generator, turns: int) -> list[Placement]:
    """Turns that mostly alternate: pauses of 0.3-3 s, some overlaps, some interruptions where
    the interrupted party stops within a second."""
    lengths = {name: len(democall.read_voice(democall.ASTERISK_SOUNDS / f"{name}.wav")) / democall.CALL_RATE
               for name in PROMPTS}
    script, at, party = [], 0.5, 0
    for _ in range(turns):
        name = PROMPTS[rng.integers(len(PROMPTS))]
        script.append(Placement(party, democall.ASTERISK_SOUNDS / f"{name}.wav", round(at, 2)))
        end = at + lengths[name]
        kind = rng.random()
        if kind < 0.2:  # the other breaks in and this party stops
            at = at + lengths[name] * rng.uniform(0.4, 0.7)
            script[-1] = Placement(party, script[-1].path, script[-1].at, cut=round(at + rng.uniform(0.3, 1.0), 2))
        elif kind < 0.35:  # the other talks over the end, this party goes on
            at = end - rng.uniform(0.6, 1.5)
        else:
            at = end + rng.uniform(0.3, 3.0)
        # Overlaps are always the other party; after a pause the same one may go on.
        party = 1 - party if kind < 0.35 or rng.random() < 0.85 else party
        at = max(at, script[-1].at + 0.5)
    return script


def figures(metrics) -> dict[str, float]:
    by = {i.by: 0 for i in metrics.interruptions}
    for i in metrics.interruptions:
        by[i.by] += 1
    return {
        "talk caller": metrics.talk_seconds[0], "talk callee": metrics.talk_seconds[1],
        "overlap": metrics.overlap_seconds, "silence": metrics.silence_seconds,
        "longest silence": metrics.longest_silence_seconds,
        "monologue caller": metrics.longest_monologue_seconds[0],
        "monologue callee": metrics.longest_monologue_seconds[1],
        "response gap max": max(metrics.response_gaps, default=0.0),
        "overlap count": metrics.overlap_count,
        "interruptions caller": by.get(0, 0), "interruptions callee": by.get(1, 0),
    }


TWO = (Speaker(0, "Caller", "caller"), Speaker(1, "Callee", "callee"))


def measured_call(call: np.ndarray, folder: Path, name: str):
    """The call as MixMonitor's `D` file, decoded and measured by the appliance."""
    path = democall.write_mixmonitor_raw(call, folder / f"{name}.raw")
    audio = load_recording([path])
    transcript = Transcript("en", "none", "none", audio.duration, TWO, (), CallMeta(uniqueid=name))
    started = time.perf_counter()
    metrics = measure(transcript, audio)
    return metrics, time.perf_counter() - started, audio.duration


def accuracy(calls: int, seed: int, folder: Path, hybrid: bool) -> None:
    rng = np.random.default_rng(seed)
    errors: dict[str, list[float]] = {key: [] for key in SECONDS}
    exact: dict[str, int] = {key: 0 for key in COUNTS}
    total = 0.0
    for n in range(calls):
        call, truth = place_voices(random_script(rng, int(rng.integers(6, 14))), seed=n, hybrid=hybrid)
        metrics, _, duration = measured_call(call, folder, f"acc-{n}")
        total += duration
        got, want = figures(metrics), figures(compute(truth, ["", ""], exact=True))
        for key in SECONDS:
            errors[key].append(abs(got[key] - want[key]))
        for key in COUNTS:
            exact[key] += got[key] == want[key]
    echo = "filtered like an analogue hybrid's" if hybrid else "a delayed copy"
    print(f"accuracy: {calls} calls, {total / 60:.1f} min of real speech (seed {seed}), echo {echo}")
    print(f"  {'metric':20s} {'mean err s':>10s} {'max err s':>10s} {'<= 0.3 s':>9s}")
    for key in SECONDS:
        values = np.array(errors[key])
        print(f"  {key:20s} {values.mean():10.3f} {values.max():10.3f} {np.mean(values <= 0.3) * 100:8.0f}%")
    print(f"  {'count':20s} {'exact':>10s}")
    for key in COUNTS:
        print(f"  {key:20s} {exact[key]:7d}/{calls}")


def speed(minutes: float, seed: int, folder: Path) -> None:
    rng = np.random.default_rng(seed + 1000)
    script: list[Placement] = []
    while not script or script[-1].at < minutes * 60:
        offset = script[-1].at + 8.0 if script else 0.0
        script += [Placement(p.party, p.path, round(p.at + offset, 2), p.cut and round(p.cut + offset, 2))
                   for p in random_script(rng, 12)]
    call, _ = place_voices(script)
    runs = [measured_call(call, folder, f"speed-{i}")[1:] for i in range(3)]
    seconds, duration = min(r[0] for r in runs), runs[0][1]
    per_hour = seconds * 3600 / duration
    print(f"speed: a {duration / 60:.1f}-minute call, best of 3: {seconds:.2f} s "
          f"= {per_hour:.1f} s per call hour = {per_hour / (BATCHED_RTF * 3600) * 100:.2f} % of "
          f"transcription at {BATCHED_RTF} x real time")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--minutes", type=float, default=30.0, help="length of the call timed for speed")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        for hybrid in (False, True):
            accuracy(args.calls, args.seed, Path(folder), hybrid)
        speed(args.minutes, args.seed, Path(folder))


if __name__ == "__main__":
    main()
