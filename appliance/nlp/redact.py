"""PII redaction: card numbers, IBANs, phone numbers and e-mail addresses masked in a transcript.

It runs on the transcript before it is stored (the worker calls `redact_for_site` between the
pipeline and the store), so turns, words, both search indexes, insights, exports and webhooks
only ever see the mask. Numbers are found as digit runs (appliance.nlp.numbers), so
"4111 1111 1111 1111", "4 1 1 1 ..." and "four one one one ..." are all seen.

Checksums keep false alarms down: a card number is masked when its Luhn check holds, an IBAN
when its mod-97 check does. Speech recognition mishears a digit now and then, which fails the
checksum, so a card-sized run right after the words of a card ("card number", "Visa",
"Kreditkarte") is masked without it. Any other look-alike that fails its checksum is left alone
unless it also looks like a phone number (7 to 15 digits, not after "order"/"ticket" ...).
A mask always covers whole digit runs, so no digit of a masked number stays beside it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from appliance.config import Settings
from appliance.nlp.numbers import digit_runs
from appliance.transcript.model import Transcript, Turn, Word

MASKS = ("card", "iban", "phone", "email")

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
# As Whisper writes an address read out: "jane.doe at example dot com", "… ät firma punkt de".
_SPOKEN_EMAIL = re.compile(
    r"\b[\w+-]+(?:\s*(?:\.|\bdot\b|\bpunkt\b)\s*[\w+-]+)*\s+(?:at|ät)\s+[\w-]+(?:\s*(?:\.|\bdot\b|\bpunkt\b)\s*[\w-]+)*"
    r"\s*(?:\.|\bdot\b|\bpunkt\b)\s*(?:com|de|org|net|eu|info|io|at|ch|uk)\b",
    re.IGNORECASE | re.UNICODE,
)
# Country code (maybe spelt "D E"), check digits, then groups of up to four characters.
_IBAN = re.compile(r"\b([A-Z])\s?([A-Z])\s?(\d)\s?(\d)((?:[ -]?[A-Z0-9]{1,4}){3,8})\b", re.IGNORECASE)
# A number right after these words is a reference, not a phone number.
_REFERENCE_BEFORE = re.compile(
    r"(?:order|ticket|case|invoice|customer|account|reference|contract|bestell\w*|auftrag\w*"
    r"|vorgang\w*|rechnung\w*|kunden\w*|vertrag\w*|referenz\w*)\s*"
    r"(?:number|no|nr|nummer|id)?\.?\s*(?:is|ist|lautet)?\s*#?\s*$",
    re.IGNORECASE,
)
_IBAN_HEAD = re.compile(r"\b[A-Z]\s?[A-Z]\s?\d\s?\d\s*$", re.IGNORECASE)
# 12.05.2025, 1/5/2025, 2025-05-12: dates, whose digits would pass for a phone number.
_DATE = re.compile(r"\d{1,2}[./]\d{1,2}[./]\d{2,4}|\d{4}-\d{1,2}-\d{1,2}")
# "… my card number is", "Visa ending", "Kreditkartennummer lautet": a card follows.
_CARD_BEFORE = re.compile(
    r"(?:card|visa|mastercard|amex|american express|maestro|kreditkart\w*|karten\w*|\w*karte)\W+(?:\w+\W+){0,4}$",
    re.IGNORECASE,
)
PHONE_DIGITS = (7, 15)
CARD_DIGITS = (13, 19)
# A misheard card loses or gains a digit now and then: the range the card words widen to.
SPOKEN_CARD_DIGITS = (12, 20)
# Issuer ranges in use: Amex/Diners 3, Visa 4, Mastercard 2 and 5, Discover/UnionPay 6.
CARD_FIRST_DIGITS = "23456"


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    kind: str


def luhn_valid(digits: str) -> bool:
    if not digits.isdigit():
        return False
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def iban_valid(iban: str) -> bool:
    """ISO 13616: the country and check digits moved to the end, letters as numbers, mod 97 = 1."""
    compact = re.sub(r"[\s-]", "", iban).upper()
    if not (15 <= len(compact) <= 34 and compact[:2].isalpha() and compact[2:4].isdigit() and compact.isalnum()):
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(char, 36)) for char in rearranged)) % 97 == 1


def _ibans(text: str):
    for match in _IBAN.finditer(text):
        head = "".join(match.group(1, 2, 3, 4))
        groups = list(re.finditer(r"[A-Z0-9]{1,4}", match.group(5), re.IGNORECASE))
        # The longest run of groups that checks out ("… 00 and" must not swallow "and").
        for count in range(len(groups), 2, -1):
            if iban_valid(head + "".join(g.group() for g in groups[:count])):
                yield Span(match.start(), match.start(5) + groups[count - 1].end(), "iban")
                break


def _cards(text: str):
    for run in digit_runs(text, CARD_DIGITS[0]):
        # An IBAN that failed its check ("DE89 3704 …") is no card either.
        if _IBAN_HEAD.search(text[max(0, run.start - 8): run.start]):
            continue
        # The whole run, else its longest head or tail ("4111 … 1111, 12 25" ends with the expiry).
        for part in run.heads_and_tails():
            digits = part.digits
            if CARD_DIGITS[0] <= len(digits) <= CARD_DIGITS[1] and digits[0] in CARD_FIRST_DIGITS and luhn_valid(digits):
                yield Span(part.start, part.end, "card")
                break
        else:
            if (SPOKEN_CARD_DIGITS[0] <= len(run.digits) <= SPOKEN_CARD_DIGITS[1]
                    and _CARD_BEFORE.search(text[max(0, run.start - 60): run.start])):
                yield Span(run.start, run.end, "card")


def _phones(text: str):
    for run in digit_runs(text, PHONE_DIGITS[0]):
        if (len(run.digits) > PHONE_DIGITS[1] or _DATE.fullmatch(text[run.start: run.end])
                or _REFERENCE_BEFORE.search(text[max(0, run.start - 40): run.start])):
            continue
        start = run.start - 1 if run.start and text[run.start - 1] == "+" else run.start
        yield Span(start, run.end, "phone")


def _emails(text: str):
    for pattern in (_EMAIL, _SPOKEN_EMAIL):
        for match in pattern.finditer(text):
            yield Span(match.start(), match.end(), "email")


_FINDERS = {"email": _emails, "iban": _ibans, "card": _cards, "phone": _phones}


def _whole_runs(span: Span, runs) -> Span:
    """A mask takes in every digit run it cuts: an IBAN that checks out on the first groups of a
    longer number, or a card followed by its expiry, must not leave digits beside it."""
    start, end = span.start, span.end
    for run in runs:
        if run.start < end and run.end > start:
            start, end = min(start, run.start), max(end, run.end)
    return Span(start, end, span.kind)


def find_pii(text: str, kinds=MASKS) -> list[Span]:
    """Non-overlapping spans to mask, in text order; earlier kinds in MASKS order win ties."""
    runs = digit_runs(text)
    chosen: list[Span] = []
    for kind in ("email", "iban", "card", "phone"):
        if kind not in kinds:
            continue
        for span in _FINDERS[kind](text):
            span = _whole_runs(span, runs)
            if all(span.end <= other.start or span.start >= other.end for other in chosen):
                chosen.append(span)
    return sorted(chosen, key=lambda span: span.start)


def mask(kind: str) -> str:
    return f"[{kind}]"


def redact_text(text: str, kinds=MASKS) -> str:
    for span in reversed(find_pii(text, kinds)):
        text = text[: span.start] + mask(span.kind) + text[span.end:]
    return text


def _redact_words(words: tuple[Word, ...], kinds) -> tuple[Word, ...]:
    """Mask across word boundaries: the first word of a span carries the mask (and the span's
    whole time), the others of the span go."""
    joined = "".join(w.word for w in words)
    spans = find_pii(joined, kinds)
    if not spans:
        return words
    offsets, position = [], 0
    for word in words:
        offsets.append((position, position + len(word.word)))
        position += len(word.word)
    result: list[Word] = []
    index = 0
    for span in spans:
        while index < len(words) and offsets[index][1] <= span.start:
            result.append(words[index])
            index += 1
        first = index
        while index < len(words) and offsets[index][0] < span.end:
            index += 1
        covered = words[first:index]
        begin, end = offsets[first][0], offsets[index - 1][1]
        text = joined[begin: span.start] + mask(span.kind) + joined[span.end: end]
        result.append(Word(covered[0].start, covered[-1].end, text, min(w.probability for w in covered)))
    result.extend(words[index:])
    return tuple(result)


def redact_turn(turn: Turn, kinds=MASKS) -> Turn:
    if not turn.words:
        return replace(turn, text=redact_text(turn.text, kinds))
    words = _redact_words(turn.words, kinds)
    if words is turn.words:
        return turn
    # The same text build_turns makes from words.
    return replace(turn, words=words, text="".join(w.word for w in words).strip())


def redact_transcript(transcript: Transcript, kinds=MASKS) -> Transcript:
    return replace(transcript, turns=tuple(redact_turn(turn, kinds) for turn in transcript.turns))


def site_kinds(settings: Settings) -> tuple[str, ...]:
    """What this site masks; empty when redaction is off."""
    if not settings.redact_pii:
        return ()
    kinds = tuple(k.strip() for k in settings.redact_kinds.split(",") if k.strip())
    unknown = [k for k in kinds if k not in MASKS]
    if unknown:
        from appliance.errors import ConfigError

        raise ConfigError(f"redact_kinds: unknown kind(s) {', '.join(unknown)}; choose from {', '.join(MASKS)}")
    return kinds


def redact_for_site(transcript: Transcript, settings: Settings) -> Transcript:
    kinds = site_kinds(settings)
    return redact_transcript(transcript, kinds) if kinds else transcript
