"""Word error rate: normalise both texts the same way, then word-level Levenshtein.

Normalisation (applied to reference and hypothesis alike):
- lowercase; "mr." -> "mister", "mrs." -> "missus";
- hyphens and slashes become spaces ("re-enter" -> "re enter");
- "*" -> "star", "#" -> "pound" (Whisper sometimes writes the keypad symbols);
- a standalone number 0..10 written in digits becomes its word ("press 1" -> "press one");
  other numbers are left as they are (the benchmark's references contain none);
- every other character that is not a letter, digit, apostrophe or space is dropped, then
  apostrophes are dropped too ("don't" -> "dont", "party's" -> "partys").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


def normalise(text: str) -> list[str]:
    text = text.lower()
    text = re.sub(r"\bmr\.", "mister ", text)
    text = re.sub(r"\bmrs\.", "missus ", text)
    text = text.replace("*", " star ").replace("#", " pound ")
    text = re.sub(r"[-\u2010-\u2015/]", " ", text)
    text = text.replace("\u2019", "'")
    text = re.sub(r"[^\w' ]+", " ", text)
    text = text.replace("'", "").replace("_", " ")
    return [_NUMBER_WORDS[int(w)] if w.isdigit() and int(w) <= 10 else w for w in text.split()]


@dataclass(frozen=True)
class WordErrors:
    reference_words: int
    substitutions: int
    deletions: int
    insertions: int

    @property
    def errors(self) -> int:
        return self.substitutions + self.deletions + self.insertions

    @property
    def rate(self) -> float:
        return self.errors / self.reference_words if self.reference_words else float(self.errors > 0)


def align(reference: list[str], hypothesis: list[str]) -> WordErrors:
    """Minimum-edit alignment (unit costs), counting substitutions, deletions, insertions."""
    # Row by row over the reference; each cell holds (cost, subs, dels, ins).
    previous = [(j, 0, 0, j) for j in range(len(hypothesis) + 1)]
    for i, ref_word in enumerate(reference, 1):
        current = [(i, 0, i, 0)]
        for j, hyp_word in enumerate(hypothesis, 1):
            diag = previous[j - 1]
            if ref_word == hyp_word:
                best = diag
            else:
                best = (diag[0] + 1, diag[1] + 1, diag[2], diag[3])
            up = previous[j]  # reference word deleted
            if up[0] + 1 < best[0]:
                best = (up[0] + 1, up[1], up[2] + 1, up[3])
            left = current[j - 1]  # hypothesis word inserted
            if left[0] + 1 < best[0]:
                best = (left[0] + 1, left[1], left[2], left[3] + 1)
            current.append(best)
        previous = current
    _, subs, dels, ins = previous[-1]
    return WordErrors(len(reference), subs, dels, ins)


def word_errors(reference: str, hypothesis: str) -> WordErrors:
    return align(normalise(reference), normalise(hypothesis))


def wer(reference: str, hypothesis: str) -> float:
    return word_errors(reference, hypothesis).rate
