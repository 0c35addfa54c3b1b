"""Runs of spoken digits in recognised text, as Whisper writes them.

Whisper writes a number read out on the phone in many ways: "4111111111111111",
"4111 1111 1111 1111", "4 1 1 1 ...", "four one one one ..." or a mix, with commas or hyphens
between groups. A run is a sequence of such digit tokens with only separators between them;
redaction and entity detection both look at runs instead of at single tokens.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DIGIT_WORDS = {
    # English
    "zero": "0", "oh": "0", "o": "0", "one": "1", "two": "2", "three": "3", "four": "4",
    "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9",
    # German
    "null": "0", "eins": "1", "zwei": "2", "zwo": "2", "drei": "3", "vier": "4", "fünf": "5",
    "sechs": "6", "sieben": "7", "acht": "8", "neun": "9",
}

# Whole chunks: "DE89" or "A4711" is a word, not a digit token.
_TOKEN = re.compile(r"\+?[^\W_]+", re.UNICODE)
# What may stand between two digit tokens of one run.
_SEPARATOR = re.compile(r"[\s,.\-/()]*")


@dataclass(frozen=True)
class DigitToken:
    start: int
    end: int
    digits: str


@dataclass(frozen=True)
class DigitRun:
    tokens: tuple[DigitToken, ...]

    @property
    def start(self) -> int:
        return self.tokens[0].start

    @property
    def end(self) -> int:
        return self.tokens[-1].end

    @property
    def digits(self) -> str:
        return "".join(t.digits for t in self.tokens)

    def heads_and_tails(self):
        """The run, then its parts that keep its first or last token, longest first."""
        yield self
        for length in range(len(self.tokens) - 1, 0, -1):
            yield DigitRun(self.tokens[:length])
            yield DigitRun(self.tokens[-length:])


def _digit_token(match: re.Match) -> DigitToken | None:
    text = match.group()
    if text.lstrip("+").isdigit():
        return DigitToken(match.start(), match.end(), text.lstrip("+"))
    digit = DIGIT_WORDS.get(text.lower())
    return DigitToken(match.start(), match.end(), digit) if digit else None


def digit_runs(text: str, min_digits: int = 1) -> list[DigitRun]:
    """The runs of digit tokens in `text` with at least `min_digits` digits."""
    runs: list[list[DigitToken]] = []
    previous_end = None
    for match in _TOKEN.finditer(text):
        token = _digit_token(match)
        if token is None:
            previous_end = None
            continue
        joined = previous_end is not None and _SEPARATOR.fullmatch(text[previous_end: token.start])
        if joined:
            runs[-1].append(token)
        else:
            runs.append([token])
        previous_end = token.end
    result = []
    for tokens in runs:
        # "o"/"oh" at either end of a run is a word ("oh, I see"), not a zero.
        while tokens and text[tokens[0].start: tokens[0].end].lower() in ("o", "oh"):
            tokens = tokens[1:]
        while tokens and text[tokens[-1].start: tokens[-1].end].lower() in ("o", "oh"):
            tokens = tokens[:-1]
        if tokens and len("".join(t.digits for t in tokens)) >= min_digits:
            result.append(DigitRun(tuple(tokens)))
    return result
