"""What the caller said -> which menu choice, with a confidence between 0 and 1.

Callers wrap the word in a sentence ("I want to talk to support", "Vertrieb bitte"), and the
recogniser misspells it ("sails", "Kundendienstes"). So every phrase of every choice is
compared with each run of as many words in the utterance (and one more or fewer), as
characters (difflib's ratio), after folding case, accents and punctuation. A phrase found
inside a German compound ("Kundendienstabteilung") counts too.

The similarity is squared: one slip in a five-letter word (ratio 0.8, "sails") stays above the
default threshold of 0.6, a word that merely shares letters ("hello" vs "help", 0.67) falls
below it. The confidence is the best phrase's similarity, lowered when another choice matches almost as
well ("sales or support" is no answer): `best * min(1, 0.5 + gap / AMBIGUITY_GAP)`.
Phrases of all languages are matched: a synonym is a synonym, and a German caller on an
English line who says "Vertrieb" still means sales.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass

from appliance.ivr.menu import Menu

# Below this a word pair is noise ("is" vs "sales"), not a misspelling.
FLOOR = 0.5
# A runner-up this far below the best no longer lowers the confidence.
AMBIGUITY_GAP = 0.3
# A phrase word at least this long found inside a longer word: "kundendienst" in
# "kundendienstabteilung". Shorter ones would match by chance ("bill" in "billig").
COMPOUND_MIN = 5
COMPOUND_SCORE = 0.9


@dataclass(frozen=True)
class Match:
    choice: str | None  # None: nothing came close
    confidence: float
    phrase: str | None = None  # the phrase that matched best


def normalise(text: str) -> list[str]:
    """Words in lower case without accents or punctuation: "Grüß Gott!" -> ["gruss", "gott"]."""
    text = unicodedata.normalize("NFKD", text.casefold().replace("ß", "ss"))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return re.findall(r"[^\W_]+", text)


def _ratio(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


def _similarity(heard: list[str], phrase: list[str]) -> float:
    """The best similarity of the phrase to any run of words in what was heard, squared."""
    target = " ".join(phrase)
    # Runs of one word more or fewer absorb a filler ("customer the service"); a one-word
    # phrase is compared word by word only, or "is nice" would come close to "invoice".
    sizes = {len(phrase)} if len(phrase) == 1 else {len(phrase) - 1, len(phrase), len(phrase) + 1}
    best = 0.0
    for size in sizes:
        for start in range(0, max(1, len(heard) - size + 1)):
            best = max(best, _ratio(" ".join(heard[start:start + size]), target))
    if len(phrase) == 1:
        # "Kunden dienst" for "Kundendienst": two words written as one only if nearly equal.
        joined = max((_ratio(a + b, target) for a, b in zip(heard, heard[1:])), default=0.0)
        if joined >= 0.9:
            best = max(best, joined)
        if len(target) >= COMPOUND_MIN and any(target in word for word in heard):
            best = max(best, COMPOUND_SCORE)
    return best * best if best >= FLOOR else 0.0


def match(text: str, menu: Menu) -> Match:
    heard = normalise(text)
    if not heard:
        return Match(None, 0.0)
    scores: list[tuple[float, str, str]] = []  # (similarity, choice, phrase), best per choice
    for choice in menu.choices:
        best = max(((_similarity(heard, normalise(p)), p) for p in choice.all_phrases()),
                   default=(0.0, None))
        scores.append((best[0], choice.name, best[1]))
    scores.sort(reverse=True)
    score, choice, phrase = scores[0]
    if score <= 0.0:
        return Match(None, 0.0)
    runner_up = scores[1][0] if len(scores) > 1 else 0.0
    confidence = score * min(1.0, 0.5 + (score - runner_up) / AMBIGUITY_GAP)
    return Match(choice, round(confidence, 3), phrase)
