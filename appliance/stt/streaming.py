"""Streaming speech-to-text: 20 ms frames in, partial and final events out.

The contract between live audio (appliance/asterisk/rtp.py) and a live engine:

    recognizer = streaming_engine_for(settings, language).recognizer()
    for frame in frames:                      # int16 numpy, FRAME_SAMPLES (320) at 16 kHz
        for event in recognizer.accept(frame):
            ...                               # Partial or Final
    events = recognizer.finish()              # flush what is still open at the end

Times are seconds from the first frame the recognizer got. A Partial is provisional text of the
utterance in progress (each one replaces the previous); a Final closes the utterance. Engines:
`vosk` (appliance/stt/vosk_stream.py: partials + finals) and `whisper` (appliance/stt/
whisper_utterances.py: a final per VAD-delimited utterance, no partials).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Union

import numpy as np

from appliance.config import Settings
from appliance.transcript.model import Word

SAMPLE_RATE = 16000
FRAME_SAMPLES = SAMPLE_RATE // 50  # 20 ms
FRAME_SECONDS = FRAME_SAMPLES / SAMPLE_RATE


@dataclass(frozen=True)
class Partial:
    """Provisional text of the utterance that started at `start`; replaced by the next event."""

    text: str
    start: float


@dataclass(frozen=True)
class Final:
    """The settled text of one utterance, with word timings where the engine gives them."""

    text: str
    start: float
    end: float
    words: tuple[Word, ...] = ()


StreamEvent = Union[Partial, Final]


class StreamingRecognizer(Protocol):
    def accept(self, frame: np.ndarray) -> list[StreamEvent]:
        """Take one 20 ms int16 frame; return the events it completed (often none)."""

    def finish(self) -> list[StreamEvent]:
        """The stream has ended: return the final of any utterance still open."""


class StreamingEngine(Protocol):
    name: str

    def recognizer(self) -> StreamingRecognizer:
        """A new recognizer for one audio stream (one direction of one call)."""


def streaming_engine_for(settings: Settings, language: str) -> StreamingEngine:
    """The live engine for a language: `live_engine` ("vosk", "whisper" or "auto": Vosk when a
    Vosk model for the language is installed, else whisper utterances)."""
    from appliance.stt.vosk_stream import VoskEngine, vosk_model_for

    choice = settings.live_engine
    if choice == "vosk" or (choice == "auto" and vosk_model_for(settings, language) is not None):
        return VoskEngine.for_language(settings, language)
    from appliance.stt.whisper_utterances import WhisperUtteranceEngine

    return WhisperUtteranceEngine.shared(settings, language)
