"""Call insights computed on the box after a transcript is stored: keywords, an extractive
summary (or a local LLM's), entities a CRM wants, and PII redaction before anything is stored.

Pure functions of a Transcript; `stage` runs them for stored calls and hands on to webhooks.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class SummaryLine:
    """One sentence of the call, said by `speaker`; `request` when it asks for something."""

    speaker: int
    label: str
    start: float
    text: str
    request: bool = False


@dataclass(frozen=True)
class Entity:
    kind: str  # "phone", "email", "date", "amount", "order", "ticket", or a configured kind
    value: str
    speaker: int
    start: float


@dataclass(frozen=True)
class Insights:
    keywords: tuple[str, ...] = ()
    summary: tuple[SummaryLine, ...] = ()
    entities: tuple[Entity, ...] = ()
    summariser: str = "extractive"
    # A local LLM's prose summary, when one is configured and installed.
    abstract: str | None = None

    @property
    def summary_text(self) -> str:
        return self.abstract or " ".join(line.text for line in self.summary)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Insights":
        return cls(
            keywords=tuple(data.get("keywords", ())),
            summary=tuple(SummaryLine(**line) for line in data.get("summary", ())),
            entities=tuple(Entity(**e) for e in data.get("entities", ())),
            summariser=data.get("summariser", "extractive"),
            abstract=data.get("abstract"),
        )


EMPTY = Insights()
__all__ = ["EMPTY", "Entity", "Insights", "SummaryLine"]
