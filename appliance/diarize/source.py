"""Speaker sources for mono recordings: audio -> who speaks when. Chosen by `choose_source`.

- `channels`: stereo calls carry one party per channel (exact and cheap; `channels.py`).
  Chosen for every stereo recording, and for mono ones when diarization is switched off.
- `pyannote`: pyannote.audio's pipeline from a local folder (`pyannote_source.py`).
- `embedded`: Silero VAD + Resemblyzer + spectral clustering, weights from PyPI (`embedded.py`).

A source that cannot load (pyannote's folder missing or broken, its extra not installed)
says so in one log line and the embedded source takes over.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from appliance.config import Settings
from appliance.errors import ApplianceError, ConfigError

log = logging.getLogger(__name__)

SOURCES = ("auto", "channels", "embedded", "pyannote")
# Recordings of one person talking to a machine: one speaker unless a second voice is clear.
ONE_VOICE_KINDS = ("voicemail", "note")


@dataclass(frozen=True)
class SpeakerTurn:
    speaker: int  # 0..n-1, numbered in order of first appearance
    start: float
    end: float


@dataclass(frozen=True)
class SourceChoice:
    name: str  # "channels", "embedded" or "pyannote"
    min_speakers: int = 1
    max_speakers: int = 8
    # Voicemail and voice notes: the fast one-speaker path unless a second voice is clear.
    one_unless_clear: bool = False


class SpeakerSource(Protocol):
    name: str

    def turns(self, samples: np.ndarray, choice: SourceChoice) -> list[SpeakerTurn]:
        """16 kHz float32 mono samples -> speaker turns (seconds), sorted by start."""


def choose_source(settings: Settings, channels: int, kind: str) -> SourceChoice:
    """Which source finds the speakers of a recording with `channels` tracks of `kind`."""
    wanted = settings.speaker_source
    if wanted not in SOURCES:
        raise ConfigError(f"setting 'speaker_source': {wanted!r} is not one of {', '.join(SOURCES)}")
    if channels > 1 or wanted == "channels":
        return SourceChoice("channels")
    bounds = {"min_speakers": settings.min_speakers, "max_speakers": settings.max_speakers}
    if kind in ONE_VOICE_KINDS:
        return SourceChoice("embedded", one_unless_clear=True, **bounds)
    if wanted == "pyannote" or (wanted == "auto" and settings.pyannote_dir is not None):
        return SourceChoice("pyannote", **bounds)
    return SourceChoice("embedded", **bounds)


def speaker_source(name: str, settings: Settings) -> SpeakerSource:
    """The loaded source (once per process); pyannote falls back to embedded with a log line.

    A pyannote folder that fails to load is tried again for the next recording (an admin may
    have fixed it); the same reason is logged only once.
    """
    if name == "pyannote":
        try:
            return _pyannote(settings.pyannote_dir)
        except ApplianceError as exc:
            _log_fallback_once(str(exc))
    return _embedded(Path(settings.models_dir))


@functools.cache
def _pyannote(folder: Path | None) -> SpeakerSource:
    from appliance.diarize.pyannote_source import PyannoteSource

    return PyannoteSource(folder)


@functools.cache
def _embedded(models_dir: Path) -> SpeakerSource:
    from appliance.diarize.embedded import EmbeddedSource

    return EmbeddedSource(models_dir)


@functools.cache
def _log_fallback_once(reason: str) -> None:
    log.warning("pyannote speaker source unavailable: %s; using the embedded speaker source", reason)


def numbered_by_first_turn(turns: list[SpeakerTurn]) -> list[SpeakerTurn]:
    """Sort turns and renumber speakers 0..n-1 in order of their first turn."""
    ordered = sorted(turns, key=lambda t: (t.start, t.end))
    numbers: dict[int, int] = {}
    for turn in ordered:
        numbers.setdefault(turn.speaker, len(numbers))
    return [SpeakerTurn(numbers[t.speaker], t.start, t.end) for t in ordered]
