"""Recordings with known speakers, and the diarization error rate: for tests and bench/diarize.py.

Not part of the product. Three kinds of real speech, each with a reference that does not come
from any diarizer:

- pyannote's bundled sample (two speakers, 30 s, 16 kHz) with the RTTM shipped beside it;
- the demo call (`democall`) mixed down to mono: Asterisk's prompt voice and a LibriVox reader,
  8 kHz, one overlap; the reference is where each party's own clean track is active;
- one voice only (Asterisk's prompts in a row): a voicemail.

DER comes from pyannote.metrics (the `test` extra). Its `collar` is the total width removed
around reference boundaries, so "±0.25 s" is collar=0.5.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import soundfile

from appliance import democall
from appliance.diarize.source import SpeakerTurn
from appliance.errors import ApplianceError

# Reference from clean tracks: 10 ms frames above this level are speech; shorter pauses join.
ACTIVE_DBFS = -45.0
JOIN_PAUSE_SECONDS = 0.3
# Asterisk prompts that make a voicemail-like monologue of about 40 s.
ONE_VOICE_PROMPTS = ("vm-nobodyavail", "tt-weasels", "privacy-prompt", "queue-periodic-announce",
                     "vm-intro", "demo-thanks", "dir-intro")


def pyannote_sample() -> tuple[Path, list[SpeakerTurn]]:
    """pyannote.audio's bundled sample (its `sample.SAMPLE_FILE`) and its reference turns."""
    spec = importlib.util.find_spec("pyannote.audio")
    if spec is None:
        raise ApplianceError("pyannote.audio is not installed: its bundled sample is needed (the 'pyannote' extra)")
    folder = Path(next(iter(spec.submodule_search_locations))) / "sample"
    return folder / "sample.wav", read_rttm(folder / "sample.rttm")


def read_rttm(path: Path) -> list[SpeakerTurn]:
    labels: dict[str, int] = {}
    turns = []
    for line in path.read_text().splitlines():
        fields = line.split()
        if fields and fields[0] == "SPEAKER":
            start, duration = float(fields[3]), float(fields[4])
            turns.append(SpeakerTurn(labels.setdefault(fields[7], len(labels)), start, start + duration))
    return turns


def active_turns(track: np.ndarray, rate: int, speaker: int) -> list[SpeakerTurn]:
    """Where a clean single-speaker track is active, as turns of `speaker`."""
    frame = rate // 100
    frames = len(track) // frame
    power = np.mean(track[: frames * frame].reshape(frames, frame).astype(np.float64) ** 2, axis=1)
    active = 10 * np.log10(power + 1e-12) > ACTIVE_DBFS
    turns: list[SpeakerTurn] = []
    for index in np.flatnonzero(active):
        start, end = index / 100, (index + 1) / 100
        if turns and start - turns[-1].end <= JOIN_PAUSE_SECONDS:
            turns[-1] = SpeakerTurn(speaker, turns[-1].start, end)
        else:
            turns.append(SpeakerTurn(speaker, start, end))
    return turns


def mono_mixture(path: Path) -> list[SpeakerTurn]:
    """Write the demo call as one mono 8 kHz WAV; return who speaks when (0 = caller)."""
    call = democall.mix_call(bleed_db=None)
    soundfile.write(str(path), democall.to_int16(np.clip(call.sum(axis=1), -1.0, 1.0)), democall.CALL_RATE)
    turns = [t for party in (0, 1) for t in active_turns(call[:, party], democall.CALL_RATE, party)]
    return sorted(turns, key=lambda t: t.start)


def one_voice(path: Path) -> list[SpeakerTurn]:
    """Write Asterisk's prompts one after another (a voicemail-like monologue) as mono 8 kHz."""
    script = [democall.Utterance(0, democall.ASTERISK_SOUNDS / f"{name}.wav", "", gap=0.6)
              for name in ONE_VOICE_PROMPTS]
    call = democall.mix_call(script, bleed_db=None)
    soundfile.write(str(path), democall.to_int16(call[:, 0]), democall.CALL_RATE)
    return active_turns(call[:, 0], democall.CALL_RATE, 0)


def annotation(turns: list[SpeakerTurn]):
    from pyannote.core import Annotation, Segment

    result = Annotation()
    for index, turn in enumerate(turns):
        result[Segment(turn.start, turn.end), index] = f"S{turn.speaker}"
    return result


def der(reference: list[SpeakerTurn], hypothesis: list[SpeakerTurn], duration: float, collar: float = 0.0) -> float:
    """Diarization error rate over the whole recording; `collar` seconds are forgiven on each
    side of reference boundaries."""
    from pyannote.core import Segment, Timeline
    from pyannote.metrics.diarization import DiarizationErrorRate

    metric = DiarizationErrorRate(collar=2 * collar)
    return float(metric(annotation(reference), annotation(hypothesis), uem=Timeline([Segment(0, duration)])))
