"""Entities a CRM wants from a call: phone numbers, e-mail addresses, dates, amounts, order and
ticket numbers. Phone numbers and addresses use the same finders as redaction (digit runs, so
spoken digits count); the rest are regular expressions a site can extend or replace in its
settings (`nlp_entity_patterns`, kind = regex; group 1, if there is one, is the value).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping

from appliance.errors import ConfigError
from appliance.nlp import Entity
from appliance.nlp.numbers import digit_runs
from appliance.nlp.redact import find_pii
from appliance.transcript.model import Transcript

_MONTHS = (
    "january|february|march|april|may|june|july|august|september|october|november|december"
    "|januar|jänner|februar|märz|april|mai|juni|juli|oktober|dezember"
)
_DAYS = (
    "monday|tuesday|wednesday|thursday|friday|saturday|sunday"
    "|montag|dienstag|mittwoch|donnerstag|freitag|samstag|sonnabend|sonntag"
)
_REFERENCE_VALUE = r"\s*(?:number|no\.?|nr\.?|nummer|id)?\s*(?:is|ist|lautet)?\s*#?\s*([A-Z]*\d[\w-]*(?:\s\d+)*)"

DEFAULT_PATTERNS: dict[str, str] = {
    "date": (
        r"\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}\.\s?\d{1,2}\.(?:\s?\d{4}\b)?|\b\d{1,2}/\d{1,2}(?:/\d{2,4})?\b"
        rf"|\b(?:{_MONTHS})\s+\d{{1,2}}(?:st|nd|rd|th)?\b"
        rf"|\b\d{{1,2}}(?:st|nd|rd|th|\.)?\s+(?:of\s+)?(?:{_MONTHS})\b"
        rf"|\b(?:{_DAYS})\b|\b(?:tomorrow|today|next week|morgen|heute|übermorgen|nächste woche)\b"
    ),
    "amount": (
        r"[€$£]\s?\d[\d.,]*\d|[€$£]\s?\d"
        r"|\b\d[\d.,]*\s?(?:€|euros?|eur|dollars?|usd|pounds?|gbp|franken|chf)\b"
    ),
    "order": rf"\b(?:order|bestell|auftrag)\w*{_REFERENCE_VALUE}",
    "ticket": rf"\b(?:ticket|case|incident|vorgang|fall)\w*{_REFERENCE_VALUE}",
}


@functools.cache
def _compiled(patterns: tuple[tuple[str, str], ...]) -> tuple[tuple[str, re.Pattern], ...]:
    compiled = []
    for kind, pattern in patterns:
        try:
            compiled.append((kind, re.compile(pattern, re.IGNORECASE | re.UNICODE)))
        except re.error as exc:
            raise ConfigError(f"nlp_entity_patterns: the pattern for {kind!r} is not a valid regex ({exc})") from None
    return tuple(compiled)


def patterns_for(extra: Mapping[str, str] | None = None) -> tuple[tuple[str, re.Pattern], ...]:
    """The defaults with a site's patterns added (or replacing a default of the same kind)."""
    return _compiled(tuple({**DEFAULT_PATTERNS, **(extra or {})}.items()))


def find_entities(text: str, patterns) -> list[tuple[str, str]]:
    """(kind, value) pairs in text order."""
    found = []
    for span in find_pii(text, ("email", "phone")):
        value = text[span.start: span.end]
        if span.kind == "phone":
            value = ("+" if value.startswith("+") else "") + "".join(r.digits for r in digit_runs(value))
        found.append((span.start, span.kind, value))
    for kind, pattern in patterns:
        for match in pattern.finditer(text):
            value = match.group(1) if pattern.groups and match.group(1) else match.group()
            found.append((match.start(), kind, value.strip()))
    return [(kind, value) for _, kind, value in sorted(found)]


def call_entities(transcript: Transcript, extra: Mapping[str, str] | None = None) -> tuple[Entity, ...]:
    patterns = patterns_for(extra)
    seen: set[tuple[str, str]] = set()
    entities = []
    for turn in transcript.turns:
        for kind, value in find_entities(turn.text, patterns):
            if (kind, value.lower()) not in seen:
                seen.add((kind, value.lower()))
                entities.append(Entity(kind, value, turn.speaker, turn.start))
    return tuple(entities)
