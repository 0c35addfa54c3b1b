"""Hearing one menu answer: endpointing, an early guess, recognition and matching.

Waiting for the usual half second of silence before recognising would alone use up most of
the time a caller tolerates before the menu reacts. So two endpointers (Silero VAD, appliance/
stt/endpoint.py) run on the same frames:

- an early one closes a piece of speech after EARLY_SILENCE (0.2 s): it is recognised at once,
  and a confident match decides there and then ("support" followed by a short pause);
- the patient one closes the whole answer after END_SILENCE (0.5 s), so that a pause inside
  a sentence ("I want to talk to ... support") is not taken for its end; the whole answer is
  recognised then, unless it is exactly the piece already recognised early.

The price of deciding early: a caller who says a choice, pauses, then corrects themselves
("sales ... no, support") goes to the first. Menus ask for one word; that is what they get.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from appliance.ivr.matcher import Match, match
from appliance.ivr.menu import Menu
from appliance.ivr.recognise import Heard, MenuRecogniser

EARLY_SILENCE = 0.2
END_SILENCE = 0.5


@dataclass(frozen=True)
class Answer:
    heard: Heard
    match: Match
    confident: bool
    decision_ms: float  # recognition and matching, once the endpointer had closed the speech
    early: bool  # decided on the early piece
    end: float  # where the speech ended, seconds of audio from the first frame
    closed_at: float  # where the endpointer closed it and recognition began (same clock)


class AnswerListener:
    """Feed 20 ms int16 frames; `accept` returns "speech" once speech starts and an Answer
    once the menu can decide."""

    def __init__(self, menu: Menu, recogniser: MenuRecogniser) -> None:
        from appliance.stt.endpoint import EndpointOptions, Endpointer

        self.menu = menu
        self.recogniser = recogniser
        self.early = Endpointer(EndpointOptions(end_silence=EARLY_SILENCE, max_seconds=menu.max_utterance_seconds))
        self.final = Endpointer(EndpointOptions(end_silence=END_SILENCE, max_seconds=menu.max_utterance_seconds))
        self.last_piece: tuple[float, float, Answer] | None = None  # (start, end, answer)
        self.speaking = False
        self.seconds = 0.0  # audio fed so far

    def accept(self, frame: np.ndarray) -> list:
        from appliance.stt.endpoint import SpeechStart, Utterance

        out = []
        self.seconds += len(frame) / 16000
        for event in self.early.accept(frame):
            if isinstance(event, SpeechStart) and not self.speaking:
                self.speaking = True
                out.append("speech")
            elif isinstance(event, Utterance):
                answer = self._decide(event, early=True)
                self.last_piece = (event.start, event.end, answer)
                if answer.confident:
                    return [*out, answer]
        for event in self.final.accept(frame):
            if isinstance(event, Utterance):
                piece = self.last_piece
                if piece is not None and (piece[0], piece[1]) == (event.start, event.end):
                    return [*out, piece[2]]  # the whole answer was that piece: decided already
                return [*out, self._decide(event, early=False)]
        return out

    def _decide(self, utterance, early: bool) -> Answer:
        started = time.perf_counter()
        heard = self.recogniser.recognise(utterance.audio)
        result = match(heard.text, self.menu)
        confident = result.choice is not None and result.confidence >= self.menu.threshold
        return Answer(heard, result, confident, (time.perf_counter() - started) * 1000, early,
                      utterance.end, self.seconds)
