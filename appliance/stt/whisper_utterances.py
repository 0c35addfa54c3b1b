"""Live Whisper: each VAD-delimited utterance (appliance/stt/endpoint.py) is transcribed once
it ends, giving one Final per utterance and no partials.

Whisper cannot stream, but an utterance of a few seconds decodes in a fraction of a second
with the base model and a short encoder window (`decode_short`), so the final arrives shortly
after the speaker pauses. The model is the batch engine's (appliance/stt/whisper.py), loaded
once per process and shared by every stream; decoding is greedy (beam 1) without word
timestamps because the live text is a draft that the batch transcript replaces after hangup.
The batch engine's guards (noise phrases, repetition loops) apply.
"""

from __future__ import annotations

import math
import threading

import numpy as np

from appliance.config import Settings
from appliance.transcript.model import Segment
from appliance.stt.endpoint import EndpointOptions, Endpointer, Utterance
from appliance.stt.guards import clean_segments
from appliance.stt.streaming import Final, StreamEvent
from appliance.stt.whisper import SAMPLE_RATE, WhisperEngine, with_noise_floor
from appliance.transcript.model import Word

# Shortest encoder window: shorter ones start to lose words (bench/ivr.py used 8 s for answers).
MIN_CONTEXT_SECONDS = 5.0

_engines: dict[tuple, WhisperEngine] = {}
_engines_lock = threading.Lock()


class WhisperUtteranceEngine:
    name = "whisper"

    def __init__(self, engine: WhisperEngine, language: str, endpoint: EndpointOptions) -> None:
        self.engine = engine
        self.language = language
        self.endpoint = endpoint

    @classmethod
    def shared(cls, settings: Settings, language: str) -> "WhisperUtteranceEngine":
        """An engine on the process's one Whisper model for these settings."""
        key = (str(settings.models_dir), settings.model, settings.compute_type, settings.cpu_threads)
        with _engines_lock:
            engine = _engines.get(key)
            if engine is None:
                engine = _engines[key] = WhisperEngine(settings)
                engine.load()  # load now, not on the first utterance of a live call
        return cls(engine, language, EndpointOptions(end_silence=settings.live_end_silence_seconds))

    def recognizer(self) -> "WhisperUtteranceRecognizer":
        return WhisperUtteranceRecognizer(self)

    def transcribe(self, utterance: Utterance) -> Final | None:
        """One utterance -> its Final, with a short encoder window (see `decode_short`)."""
        text, score, no_speech = decode_short(self.engine.load().model, utterance.audio, self.language)
        if not text:
            return None
        # The batch guards (noise phrases, loops) work on words: the decoded words, spread over
        # the utterance. Their times are only for the guards; the Final carries none.
        parts = text.split()
        step = (utterance.end - utterance.start) / len(parts)
        words = tuple(Word(utterance.start + i * step, utterance.start + (i + 1) * step, f" {w}", math.exp(score))
                      for i, w in enumerate(parts))
        kept = clean_segments([Segment(utterance.start, utterance.end, text, words, score, no_speech)])
        if not kept:
            return None
        return Final(kept[0].text, utterance.start, utterance.end)


def decode_short(model, audio: np.ndarray, language: str | None, *, min_seconds: float = MIN_CONTEXT_SECONDS,
                 initial_prompt: str = "", max_new_tokens: int | None = None) -> tuple[str, float, float]:
    """(text, mean token log probability, no-speech probability) of one utterance.

    Whisper's encoder is trained on 30 s windows and costs the same for three words as for
    30 s (about a second on two cores: most of a live final's delay). CTranslate2 also encodes
    a shorter mel, like whisper.cpp's `audio_ctx`: the utterance plus a second of silence, at
    least `min_seconds`, decodes the same words several times faster (bench/live.py;
    bench/ivr.py found the same for menu answers). `initial_prompt` goes before the
    transcript as Whisper's previous text (the voice menu's phrases); `max_new_tokens` bounds
    the decode (default: 8 tokens a second of the utterance itself, not of the padded window).

    In the silence after the utterance the short window makes Whisper repeat the sentence
    ("... the pound key. Please enter the channel number ..."). Decoding with timestamps says
    where each sentence starts: those that start after the audio are that repeat and are cut.
    """
    import ctranslate2
    from faster_whisper.tokenizer import Tokenizer

    seconds = min(30.0, max(min_seconds, len(audio) / SAMPLE_RATE + 1.0))
    padded = np.zeros(int(seconds * SAMPLE_RATE), np.float32)
    padded[:len(audio)] = audio[:len(padded)]
    mel = model.feature_extractor(with_noise_floor(padded))[:, :int(seconds * 100)]  # 10 ms hops
    encoded = model.model.encode(ctranslate2.StorageView.from_array(
        np.ascontiguousarray(mel[None], dtype=np.float32)), to_cpu=False)
    tokenizer = Tokenizer(model.hf_tokenizer, model.model.is_multilingual, task="transcribe",
                          language=language or "en")
    prompt = [tokenizer.sot_prev, *tokenizer.encode(" " + initial_prompt)] if initial_prompt else []
    prompt += [*tokenizer.sot_sequence]
    audio_seconds = len(audio) / SAMPLE_RATE
    new_tokens = int(8 * audio_seconds) + 8 if max_new_tokens is None else max_new_tokens
    result = model.model.generate(encoded, [prompt], beam_size=1, return_scores=True, return_no_speech_prob=True,
                                  max_length=len(prompt) + new_tokens)[0]
    kept = _tokens_inside(result.sequences_ids[0], tokenizer.timestamp_begin, audio_seconds - TAIL_SECONDS)
    return tokenizer.decode(kept).strip(), result.scores[0], result.no_speech_prob


# A sentence that starts this close to the audio's end (its trailing pad) is not in the audio.
TAIL_SECONDS = 0.3


def _tokens_inside(ids: list[int], timestamp_begin: int, limit: float) -> list[int]:
    """The text tokens of the timestamped sentences that start before `limit` seconds."""
    kept, start = [], 0.0
    for token in ids:
        if token >= timestamp_begin:  # a sentence's start or end; text after it starts there
            start = (token - timestamp_begin) * 0.02  # 20 ms per timestamp token
        elif start < limit:
            kept.append(token)
    return kept


class WhisperUtteranceRecognizer:
    def __init__(self, engine: WhisperUtteranceEngine) -> None:
        self.engine = engine
        self.endpointer = Endpointer(engine.endpoint)

    def accept(self, frame: np.ndarray) -> list[StreamEvent]:
        return self._finals(self.endpointer.accept(frame))

    def finish(self) -> list[StreamEvent]:
        return self._finals(self.endpointer.finish())

    def _finals(self, events) -> list[StreamEvent]:
        finals = []
        for event in events:
            if isinstance(event, Utterance):
                final = self.engine.transcribe(event)
                if final is not None:
                    finals.append(final)
        return finals
