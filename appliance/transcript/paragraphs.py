"""A long turn in paragraphs: a voicemail is often one speaker's one turn, and a wall of text
is hard to read. A paragraph ends at the end of a sentence followed by a pause, or after a few
sentences; without punctuation (some recognisers write none), at a long pause."""

from __future__ import annotations

from collections.abc import Sequence

from appliance.transcript.model import Word

SENTENCE_END = (".", "!", "?", "…")
PAUSE_SECONDS = 0.8  # after a sentence: the speaker took a breath between thoughts
LONG_PAUSE_SECONDS = 2.0  # anywhere
MOST_SENTENCES = 3


def paragraphs(words: Sequence[Word]) -> list[range]:
    """The word positions of each paragraph, in order; one paragraph for a short turn, none
    for a turn without words."""
    if not words:
        return []
    found, start, sentences = [], 0, 0
    for n, word in enumerate(words[:-1]):
        pause = words[n + 1].start - word.end
        if word.word.rstrip().endswith(SENTENCE_END):
            sentences += 1
            if pause >= PAUSE_SECONDS or sentences >= MOST_SENTENCES:
                found.append(range(start, n + 1))
                start, sentences = n + 1, 0
                continue
        if pause >= LONG_PAUSE_SECONDS:
            found.append(range(start, n + 1))
            start, sentences = n + 1, 0
    found.append(range(start, len(words)))
    return found
