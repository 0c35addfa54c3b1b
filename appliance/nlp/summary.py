"""Extractive call summary: the most representative sentences of each speaker, in call order,
with the sentences that ask for something marked, so a reader sees who asked for what.

Every line is a sentence of the transcript as it was said (never rewritten), and each speaker
who said something of substance gets at least one line.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

from appliance.nlp import SummaryLine
from appliance.nlp.keywords import stopwords
from appliance.transcript.model import Transcript

_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_REQUEST = re.compile(
    r"\?\s*$|\b(?:please|could you|can you|would you|will you|i would like|i'd like|i want|i need|"
    r"we need|i'm calling|i am calling|calling about|bitte|könnten sie|können sie|würden sie|"
    r"ich möchte|ich hätte gern|ich brauche|wir brauchen|ich rufe wegen|ich rufe an)\b",
    re.IGNORECASE,
)
MIN_WORDS = 3  # shorter sentences ("Yes.", "Thank you.") are not worth a summary line
MIN_LINES = 3
MAX_LINES = 6


@dataclass(frozen=True)
class Sentence:
    speaker: int
    start: float
    text: str


def sentences(transcript: Transcript) -> list[Sentence]:
    """The call's sentences in order: each turn cut after . ! ? (Whisper's punctuation), each
    starting where its first word was said (a voicemail is one long turn, not all at 0:00)."""
    result = []
    for turn in transcript.turns:
        said = 0  # the turn's words before this sentence
        for part in _SENTENCE_END.split(turn.text.strip()):
            if part.strip():
                start = turn.words[said].start if said < len(turn.words) else turn.start
                result.append(Sentence(turn.speaker, start, part.strip()))
            said += len(part.split())
    return result


def is_request(text: str) -> bool:
    return bool(_REQUEST.search(text))


def _content_words(text: str, stop: frozenset[str]) -> list[str]:
    return [w for w in (m.lower() for m in _WORD.findall(text)) if len(w) > 2 and w not in stop]


def extractive_summary(transcript: Transcript, keywords=(), max_lines: int = MAX_LINES) -> tuple[SummaryLine, ...]:
    stop = stopwords(transcript.language)
    candidates = [s for s in sentences(transcript) if len(_WORD.findall(s.text)) >= MIN_WORDS]
    if not candidates:
        return ()
    words = [_content_words(s.text, stop) for s in candidates]
    frequency = Counter(w for sentence in words for w in sentence)
    keyword_words = {w for phrase in keywords for w in _content_words(phrase, stop)}

    def score(index: int) -> float:
        unique = set(words[index])
        if not unique:
            return 0.0
        # Words the call keeps coming back to, and its keywords, make a sentence representative;
        # dividing by the root of its length keeps long sentences from winning by size alone.
        weight = sum(math.log1p(frequency[w]) + (1.0 if w in keyword_words else 0.0) for w in unique)
        return weight / math.sqrt(len(words[index])) + (1.0 if is_request(candidates[index].text) else 0.0)

    speakers = sorted({s.speaker for s in candidates})
    budget = min(len(candidates), max(len(speakers), MIN_LINES, min(max_lines, math.ceil(len(candidates) * 0.3))))
    ranked = sorted(range(len(candidates)), key=lambda i: (-score(i), i))
    # Each speaker's best sentence first, then the best of the rest, whoever said them.
    chosen = [next(i for i in ranked if candidates[i].speaker == speaker) for speaker in speakers]
    chosen += [i for i in ranked if i not in chosen][: max(0, budget - len(chosen))]
    return tuple(
        SummaryLine(
            speaker=candidates[i].speaker,
            label=transcript.speaker(candidates[i].speaker).label,
            start=candidates[i].start,
            text=candidates[i].text,
            request=is_request(candidates[i].text),
        )
        for i in sorted(chosen)
    )
