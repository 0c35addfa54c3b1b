"""End-of-speech detection on a live stream: 20 ms frames in, speech starts and utterances out.

Silero VAD, the ONNX model faster-whisper ships (faster_whisper/assets/silero_vad_v6.onnx), run
on onnxruntime one 32 ms window at a time with its recurrent state carried over — about half a
millisecond of CPU per window, so one process keeps up with many calls.

    endpointer = Endpointer()                     # EndpointOptions() defaults
    for frame in frames:                          # int16, 320 samples at 16 kHz
        for event in endpointer.accept(frame):
            if isinstance(event, SpeechStart): ...
            elif isinstance(event, Utterance): ... event.audio (float32), event.start, event.end
    endpointer.finish()                           # the utterance still open, if any

An utterance ends after `end_silence` seconds below the threshold, or is cut at `max_seconds`
(the next one continues at once). Times are seconds from the first frame.
"""

from __future__ import annotations

import functools
import os
import threading
from dataclasses import dataclass

import numpy as np

SAMPLE_RATE = 16000
WINDOW = 512  # samples Silero v6 takes at 16 kHz
CONTEXT = 64  # samples of the previous window it sees too


@dataclass(frozen=True)
class EndpointOptions:
    threshold: float = 0.5  # speech probability that starts speech
    # Below this (lower, for hysteresis) counts as silence once speech has started.
    neg_threshold: float = 0.35
    # Silence that ends an utterance: shorter answers sooner, longer keeps sentences whole.
    end_silence: float = 0.5
    min_speech: float = 0.1  # shorter bursts (clicks, DTMF) are not utterances
    max_seconds: float = 15.0
    pad: float = 0.2  # audio kept after the end
    # Audio kept before the start: Silero starts speech up to half a second late on soft onsets
    # ("the", "please"), most at a stream's start, and Whisper drops a word it hears cut.
    preroll: float = 0.5


@dataclass(frozen=True)
class SpeechStart:
    start: float


@dataclass(frozen=True)
class Utterance:
    audio: np.ndarray  # float32 mono 16 kHz, EndpointOptions.preroll before, pad after
    start: float  # speech start (without pad), seconds from the first frame
    end: float  # speech end (without pad)


@functools.cache
def _session():
    """One ONNX session per process, shared by every stream (its state is passed per call)."""
    import faster_whisper
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.inter_op_num_threads = 1
    options.intra_op_num_threads = 1
    options.log_severity_level = 4
    path = os.path.join(os.path.dirname(faster_whisper.__file__), "assets", "silero_vad_v6.onnx")
    return onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"], sess_options=options)


_session_lock = threading.Lock()


class SileroStream:
    """Speech probability per 32 ms window of one stream."""

    def __init__(self) -> None:
        self.h = np.zeros((1, 1, 128), np.float32)
        self.c = np.zeros((1, 1, 128), np.float32)
        self.context = np.zeros(CONTEXT, np.float32)

    def __call__(self, window: np.ndarray) -> float:
        with _session_lock:
            session = _session()
        probability, self.h, self.c = session.run(
            None, {"input": np.concatenate([self.context, window])[None], "h": self.h, "c": self.c})
        self.context = window[-CONTEXT:]
        return float(np.asarray(probability).ravel()[0])


class Endpointer:
    """Per-stream VAD state machine; see the module docstring."""

    def __init__(self, options: EndpointOptions | None = None) -> None:
        self.options = options or EndpointOptions()
        self.vad = SileroStream()
        self._pending = np.zeros(0, np.float32)  # samples not yet in a VAD window
        self._audio: list[np.ndarray] = []  # windows since the kept pre-roll (float32)
        self._audio_start = 0  # sample index of _audio[0]
        self._samples = 0  # samples seen by the VAD
        self._speech_start: int | None = None  # sample index, None while silent
        self._last_speech = 0  # sample index where the last speech window ended
        self._started_reported = False

    def accept(self, frame: np.ndarray) -> list:
        samples = np.asarray(frame, dtype=np.float32) / 32768.0
        self._pending = np.concatenate([self._pending, samples])
        events = []
        while len(self._pending) >= WINDOW:
            window, self._pending = self._pending[:WINDOW], self._pending[WINDOW:]
            events.extend(self._window(window))
        return events

    def finish(self) -> list:
        if self._speech_start is None:
            return []
        return self._close(self._last_speech)

    def _window(self, window: np.ndarray) -> list:
        o = self.options
        probability = self.vad(window)
        self._audio.append(window)
        start_of_window = self._samples
        self._samples += WINDOW
        events = []
        if self._speech_start is None:
            if probability >= o.threshold:
                self._speech_start = start_of_window
                self._last_speech = self._samples
                self._started_reported = False
            else:
                self._trim_preroll()
            return events
        if probability >= o.neg_threshold:
            self._last_speech = self._samples
        if (not self._started_reported
                and self._last_speech - self._speech_start >= o.min_speech * SAMPLE_RATE):
            self._started_reported = True
            events.append(SpeechStart(self._speech_start / SAMPLE_RATE))
        if self._samples - self._last_speech >= o.end_silence * SAMPLE_RATE:
            events.extend(self._close(self._last_speech))
        elif self._samples - self._speech_start >= o.max_seconds * SAMPLE_RATE:
            events.extend(self._close(self._samples, keep_going=True))
        return events

    def _close(self, end: int, keep_going: bool = False) -> list:
        o = self.options
        start = self._speech_start
        audio = np.concatenate(self._audio) if self._audio else np.zeros(0, np.float32)
        first = start - int(o.preroll * SAMPLE_RATE) - self._audio_start
        missing = max(0, -first)  # speech at the stream's start: silence stands in for the pre-roll
        if missing:
            audio = np.concatenate([np.zeros(missing, np.float32), audio])
        last = min(len(audio), end + int(o.pad * SAMPLE_RATE) - self._audio_start + missing)
        first += missing
        events = []
        if end - start >= o.min_speech * SAMPLE_RATE:
            if not self._started_reported:
                events.append(SpeechStart(start / SAMPLE_RATE))
            events.append(Utterance(audio[first:last].copy(), start / SAMPLE_RATE, end / SAMPLE_RATE))
        if keep_going:  # cut at max_seconds: the speech goes on in a new utterance
            self._speech_start, self._started_reported = self._samples, True
            self._audio, self._audio_start = [], self._samples
            if events:
                events.append(SpeechStart(self._samples / SAMPLE_RATE))
        else:
            self._speech_start = None
            self._trim_preroll()
        return events

    def _trim_preroll(self) -> None:
        """While silent, keep only `preroll` seconds of audio (the next utterance's)."""
        keep = int(self.options.preroll * SAMPLE_RATE) // WINDOW + 1
        if len(self._audio) > keep:
            drop = len(self._audio) - keep
            self._audio = self._audio[drop:]
            self._audio_start += drop * WINDOW
