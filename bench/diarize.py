"""Speakers in mono recordings: error and time of each speaker source against a one-speaker baseline.

    .venv/bin/python bench/diarize.py [--repeat K] [--pyannote-dir DIR]

Recordings (tests/support/diarization.py): pyannote's bundled two-speaker sample with its
RTTM; the demo call's two real voices mixed to mono 8 kHz; one voice alone (a voicemail).
Systems, each timed after loading:

  one speaker  every speech region (Silero VAD) given to one speaker: the baseline
  embedded     Silero VAD + Resemblyzer + spectral clustering (the default source)
  pyannote     pyannote.audio from a local pipeline folder (only with --pyannote-dir)

DER by pyannote.metrics without collar and with ±0.25 s forgiven around reference boundaries.
"Whisper s" is the appliance's engine (whisper-base, batched, word timestamps) transcribing the
same audio once; "ratio" is diarization time over it (the target is at most 0.3).
Prints figures, asserts nothing. See bench/README.md.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = BENCH_DIR.parent
sys.path[:0] = [str(BENCH_DIR), str(PROJECT_ROOT), str(PROJECT_ROOT / "tests")]

from batch import ensure_model  # noqa: E402
from machine import machine  # noqa: E402

NO_CONFIG = Path("/dev/null")


class OneSpeaker:
    name = "one speaker"

    def turns(self, samples, choice):
        from appliance.diarize.embedded import speech_regions
        from appliance.diarize.source import SpeakerTurn

        return [SpeakerTurn(0, a / 16000, b / 16000) for a, b in speech_regions(samples)]


def timed(function, repeat: int):
    """(result, fastest wall s, its CPU s)."""
    best = None
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        result = function()
        spent = (time.perf_counter() - wall, time.process_time() - cpu)
        if best is None or spent[0] < best[1]:
            best = (result, *spent)
    return best


def recordings(folder: Path):
    from support import diarization

    sample, sample_reference = diarization.pyannote_sample()
    yield "pyannote sample (2 voices, 16 kHz)", sample, sample_reference
    yield "demo call mono (2 voices, 8 kHz)", folder / "mix.wav", diarization.mono_mixture(folder / "mix.wav")
    yield "one voice (voicemail-like, 8 kHz)", folder / "one.wav", diarization.one_voice(folder / "one.wav")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=1, help="runs per system; the fastest counts")
    parser.add_argument("--pyannote-dir", type=Path, help="a local pyannote pipeline folder to compare")
    parser.add_argument("--models-dir", type=Path, default=PROJECT_ROOT / "var" / "models")
    args = parser.parse_args()

    from appliance.audio import DecodeOptions, load_recording
    from appliance.config import load_settings
    from support import diarization
    from appliance.diarize.source import SourceChoice, speaker_source
    from appliance.stt import engine_for

    models_dir = args.models_dir.resolve()
    ensure_model(models_dir)
    settings = load_settings(NO_CONFIG, environ={}, data_dir=models_dir.parent, models_dir=models_dir,
                             pyannote_dir=args.pyannote_dir)
    print(machine(with_memory=True))

    systems = [OneSpeaker()]
    started = time.perf_counter()
    systems.append(speaker_source("embedded", settings))
    print(f"embedded source load: {time.perf_counter() - started:.1f} s")
    if args.pyannote_dir:
        started = time.perf_counter()
        pyannote = speaker_source("pyannote", settings)
        if pyannote.name == "pyannote":
            systems.append(pyannote)
            print(f"pyannote source load: {time.perf_counter() - started:.1f} s")
    engine = engine_for(settings)
    started = time.perf_counter()
    engine.load()
    print(f"whisper load: {time.perf_counter() - started:.1f} s\n")

    header = (f"{'recording':36} {'system':12} {'spk':>3} {'DER %':>6} {'±0.25':>6} {'wall s':>7} {'CPU s':>6} "
              f"{'ratio':>6}")
    with tempfile.TemporaryDirectory(prefix="bench-diarize-") as folder:
        for title, path, reference in recordings(Path(folder)):
            samples = load_recording([path], DecodeOptions()).channels[0]
            duration = len(samples) / 16000
            _, whisper_s, whisper_cpu = timed(lambda: engine.recognise(samples, language="en"), args.repeat)
            print(header if title.startswith("pyannote") else "")
            print(f"{title:36} {'whisper':12} {'':>3} {'':>6} {'':>6} {whisper_s:7.2f} {whisper_cpu:6.2f} "
                  f"{'':>6}   audio {duration:.1f} s, RTF {whisper_s / duration:.3f}")
            for system in systems:
                choice = SourceChoice(system.name)
                turns, wall, cpu = timed(lambda: system.turns(samples, choice), args.repeat)
                error = 100 * diarization.der(reference, turns, duration)
                collared = 100 * diarization.der(reference, turns, duration, 0.25)
                speakers = len({t.speaker for t in turns})
                print(f"{'':36} {system.name:12} {speakers:3d} {error:6.1f} {collared:6.1f} {wall:7.2f} {cpu:6.2f} "
                      f"{wall / whisper_s:6.2f}")


if __name__ == "__main__":
    main()
