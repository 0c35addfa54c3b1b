"""Speech-to-text engines: audio in, timed words out. Chosen by config (`engine_for`)."""

from __future__ import annotations

from typing import Callable, Protocol

import numpy as np

from appliance.config import Settings
from appliance.transcript.model import Recognition

ProgressCallback = Callable[[float], None]


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


def engine_for(settings: Settings) -> SpeechToText:
    """The batch engine the settings ask for (only faster-whisper for now)."""
    from appliance.stt.whisper import WhisperEngine

    return WhisperEngine(settings)
