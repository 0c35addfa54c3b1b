"""The transcript model that every stage hands on: plain dataclasses, JSON round-trip."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

# Asterisk's uniqueids look like 1712345678.42; ours like import-3f2a…, vm-msg0001. A uniqueid
# names a folder under recordings/, so nothing that could climb out of it or hide ("..", "/").
_UNIQUEID = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}")


def valid_uniqueid(value: str | None) -> bool:
    return value is None or bool(_UNIQUEID.fullmatch(value))


@dataclass(frozen=True)
class CallMeta:
    """What Asterisk (or the person importing a file) tells us about a call."""

    uniqueid: str | None = None
    caller: str | None = None
    callee: str | None = None
    direction: str | None = None  # "inbound", "outbound", "internal" or None
    started_at: str | None = None  # ISO 8601
    linkedid: str | None = None
    kind: str = "call"  # "call", "voicemail", "note"


@dataclass(frozen=True)
class Speaker:
    """A party of the call. `role` is "caller", "callee" or "speaker" (diarized/mono)."""

    index: int
    label: str
    role: str = "speaker"


@dataclass(frozen=True)
class Word:
    start: float
    end: float
    word: str
    probability: float


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


@dataclass(frozen=True)
class Turn:
    speaker: int  # Speaker.index
    start: float
    end: float
    text: str
    words: tuple[Word, ...] = ()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Turn":
        """Words as `to_dict` writes them, or as the store keeps them: [start, end, word, probability]."""
        words = tuple(Word(**w) if isinstance(w, dict) else Word(*w) for w in data["words"])
        return cls(speaker=data["speaker"], start=data["start"], end=data["end"], text=data["text"], words=words)


@dataclass(frozen=True)
class Transcript:
    language: str
    engine: str
    model: str
    duration: float
    speakers: tuple[Speaker, ...]
    turns: tuple[Turn, ...]
    meta: CallMeta = field(default_factory=CallMeta)

    @property
    def text(self) -> str:
        return " ".join(turn.text for turn in self.turns)

    def speaker(self, index: int) -> Speaker:
        for speaker in self.speakers:
            if speaker.index == index:
                return speaker
        return Speaker(index=index, label=f"Speaker {index + 1}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Transcript":
        return cls(
            language=data["language"],
            engine=data["engine"],
            model=data["model"],
            duration=data["duration"],
            speakers=tuple(Speaker(**s) for s in data["speakers"]),
            turns=tuple(Turn.from_dict(t) for t in data["turns"]),
            meta=CallMeta(**data.get("meta", {})),
        )
