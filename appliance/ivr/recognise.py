"""One short utterance (16 kHz float32) -> the text the caller said, for the menu's matcher.

Two engines, chosen per menu and language by `recogniser_for`:

- **Vosk with a grammar** of the menu's phrases (plus "[unk]" for anything else) when a Vosk
  model for the language is installed (setting `vosk_models`, the same models the live
  transcription uses): the decoder can only answer with a phrase or "unknown", which is both
  fast and robust on the phone. Small Vosk models (dynamic graph, `graph/HCLr.fst`) accept a
  grammar; words the model does not know are dropped by Kaldi, so `grammar_words` says which
  phrases survived.
- **faster-whisper** otherwise, on the process's one Whisper model (shared with live
  transcription), greedy, without timestamps and with a short encoder context, with the
  menu's phrases as the initial prompt so that Whisper spells them as the menu does; the
  matcher then fuzzy-matches. When Whisper merely repeats the prompt (it does on unclear
  audio), every choice matches equally and the matcher's ambiguity rule asks again.
"""

from __future__ import annotations

import json
import math
import threading
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from appliance.config import Settings
from appliance.ivr.menu import Menu
from appliance.stt.guards import LOW_LOGPROB, NO_SPEECH_PROB

SAMPLE_RATE = 16000
UNKNOWN = "[unk]"
# Whisper's encoder window for a menu answer (see WhisperMenuRecogniser); answers are cut at
# Menu.max_utterance_seconds, so this only grows for menus that allow longer ones.
CONTEXT_SECONDS = 8.0
# A menu answer is a few words; a runaway decode (a loop) stops here.
MAX_TOKENS = 40


@dataclass(frozen=True)
class Heard:
    text: str  # "" when nothing usable was said
    confidence: float  # the recogniser's own, 0..1
    engine: str


class MenuRecogniser(Protocol):
    engine: str

    def recognise(self, audio: np.ndarray) -> Heard:
        """16 kHz float32 mono samples of one utterance -> what was said."""


class VoskGrammarRecogniser:
    engine = "vosk-grammar"

    def __init__(self, folder, phrases: tuple[str, ...]) -> None:
        from appliance.stt.vosk_stream import VoskEngine

        self.model = VoskEngine(folder).model  # loaded once per process, shared with live
        # Vosk grammars are lower case; the matcher compares folded text anyway. "[unk]" lets
        # the decoder answer "none of these"; a model without it (the Korean one) can only
        # answer with a phrase, and unrelated speech then comes out as the nearest phrase.
        unknown = [UNKNOWN] if self.model.vosk_model_find_word(UNKNOWN) != -1 else []
        self.grammar = json.dumps([p.lower() for p in phrases] + unknown, ensure_ascii=False)

    def grammar_words(self) -> set[str]:
        """The grammar's words the model knows (Kaldi silently drops the others)."""
        words = {w for p in json.loads(self.grammar) if p != UNKNOWN for w in p.split()}
        return {w for w in words if self.model.vosk_model_find_word(w) != -1}

    def recognise(self, audio: np.ndarray) -> Heard:
        import vosk

        kaldi = vosk.KaldiRecognizer(self.model, SAMPLE_RATE, self.grammar)
        kaldi.SetWords(True)
        pcm = (np.clip(audio, -1.0, 1.0) * 32767).astype("<i2").tobytes()
        kaldi.AcceptWaveform(pcm)
        result = json.loads(kaldi.FinalResult())
        words = [w for w in result.get("result", ()) if w.get("word") != UNKNOWN]
        if not words:
            return Heard("", 0.0, self.engine)
        confidence = min(w.get("conf", 1.0) for w in words)
        return Heard(" ".join(w["word"] for w in words), round(float(confidence), 3), self.engine)


class WhisperMenuRecogniser:
    """Whisper on one short utterance, with a short encoder context.

    The live engine's `decode_short` with a longer minimum window (`context_seconds` of audio,
    the utterance padded with silence: about five times faster than Whisper's 30 s window on
    menu words, bench/ivr.py compares both), the menu's phrases as the previous text, and a
    menu answer's token budget.
    """

    engine = "faster-whisper"

    def __init__(self, settings: Settings, language: str | None, phrases: tuple[str, ...],
                 context_seconds: float = CONTEXT_SECONDS) -> None:
        from appliance.stt.whisper_utterances import WhisperUtteranceEngine

        self.whisper = WhisperUtteranceEngine.shared(settings, language).engine
        self.language = language
        self.context_seconds = context_seconds
        # Whisper continues the prompt's style: a list of the phrases, as the menu spells them.
        self.prompt = ", ".join(phrases) + "." if phrases else ""

    def recognise(self, audio: np.ndarray) -> Heard:
        from appliance.stt.whisper_utterances import decode_short

        model = self.whisper.load().model  # the WhisperModel inside the batched pipeline
        text, score, no_speech = decode_short(model, audio, self.language, min_seconds=self.context_seconds,
                                              initial_prompt=self.prompt, max_new_tokens=MAX_TOKENS)
        # Whisper's own silence rule, as the batch guards apply it.
        if not text or (no_speech > NO_SPEECH_PROB and score < LOW_LOGPROB):
            return Heard("", 0.0, self.engine)
        return Heard(text, round(min(1.0, math.exp(score)), 3), self.engine)


_cache: dict[tuple, MenuRecogniser] = {}
_cache_lock = threading.Lock()


def recogniser_for(settings: Settings, menu: Menu, language: str) -> MenuRecogniser:
    """The menu's engine for a language: Vosk's grammar when its model is installed (or the
    menu says "vosk"), else Whisper. One per (menu, language) per process."""
    from appliance.stt.vosk_stream import VoskEngine, vosk_model_for

    key = (menu.name, menu.engine, language, menu.phrases(), str(settings.models_dir))
    with _cache_lock:
        if key not in _cache:
            folder = vosk_model_for(settings, language)
            if menu.engine == "vosk" or (menu.engine == "auto" and folder is not None):
                if folder is None:
                    VoskEngine.for_language(settings, language)  # raises ModelMissing, readable
                _cache[key] = VoskGrammarRecogniser(folder, menu.phrases(language) or menu.phrases())
            else:
                _cache[key] = WhisperMenuRecogniser(settings, language, menu.phrases(language) or menu.phrases())
        return _cache[key]
