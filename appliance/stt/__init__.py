"""Speech-to-text engines: audio in, timed words out. Chosen by config (`engine_for`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol

import numpy as np

from appliance.transcript.model import Word

ProgressCallback = Callable[[float], None]


@dataclass(frozen=True)
class Segment:
    """One recognised utterance of one speaker, with the decoder's own quality figures."""

    start: float
    end: float
    text: str
    words: tuple[Word, ...]
    avg_logprob: float = 0.0
    no_speech_prob: float = 0.0


@dataclass(frozen=True)
class Recognition:
    language: str
    segments: tuple[Segment, ...]


class SpeechToText(Protocol):
    engine: str
    model: str

    def recognise(
        self,
        samples: np.ndarray,
        *,
        language: str | None,
        hotwords: str | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> Recognition:
        """16 kHz float32 mono samples -> segments with word timestamps (seconds)."""


def engine_for(settings) -> SpeechToText:
    """The batch engine the settings ask for (only faster-whisper for now)."""
    from appliance.stt.whisper import WhisperEngine

    return WhisperEngine(settings)
