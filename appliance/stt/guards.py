"""Quality guards on recogniser output: no words from noise, no repetition loops.

Whisper invents text for non-speech that slips past the VAD (line noise, tones) and can loop
on one phrase ("zu einem Termin zu einem Termin ..."). These guards run on every engine's
segments, after decoding, so they also protect engines that lack Whisper's own fallbacks.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Iterable

from appliance.transcript.model import Segment

# Whisper's own silence rule (no_speech_threshold with log_prob_threshold).
NO_SPEECH_PROB = 0.6
LOW_LOGPROB = -1.0
# Phrases Whisper is known to produce from noise; kept when the model is sure of them.
NOISE_PHRASES = {
    "you", "thank you", "thanks", "thank you very much", "thanks for watching",
    "thank you for watching", "bye", "oh", "hmm", "so", "the end", "subtitles by the amaraorg community",
    "vielen dank", "danke", "untertitel im auftrag des zdf", "untertitel der amaraorg community",
}
UNSURE_MEAN_PROBABILITY = 0.6
# A loop is the same n words repeated at least this many times in a row, whatever n is...
LOOP_REPEATS = 3
# ...or twice, once the repeated run is a clause of its own: people say "zu einem Termin, zu
# einem Termin", but a sentence said twice over in one breath is the decoder looping.
LOOP_SENTENCE_WORDS = 5


def clean_segments(segments: Iterable[Segment]) -> list[Segment]:
    cleaned = []
    for segment in segments:
        segment = collapse_repetitions(segment)
        if segment.words and not _is_noise(segment):
            cleaned.append(segment)
    return cleaned


def _normalise(text: str) -> str:
    return re.sub(r"[^\w ]+", "", text.lower()).strip()


def _is_noise(segment: Segment) -> bool:
    if segment.no_speech_prob > NO_SPEECH_PROB and segment.avg_logprob < LOW_LOGPROB:
        return True
    mean_probability = sum(w.probability for w in segment.words) / len(segment.words)
    return _normalise(segment.text) in NOISE_PHRASES and mean_probability < UNSURE_MEAN_PROBABILITY


def collapse_repetitions(segment: Segment) -> Segment:
    """Keep one copy of a loop: any run of n words repeated LOOP_REPEATS times in a row, or
    twice when n >= LOOP_SENTENCE_WORDS. A partial copy that ends the segment goes too: that is
    where the decoder's token budget cut the loop off ("... the pound key. Please enter the")."""
    words = list(segment.words)
    keys = [_normalise(w.word) for w in words]
    keep = [True] * len(words)
    i = 0
    while i < len(words):
        loop = _loop_at(keys, i)
        if loop is None:
            i += 1
            continue
        n, repeats = loop
        end = i + repeats * n
        tail = len(words) - end
        if 0 < tail < n and keys[end:] == keys[i:i + tail]:
            end = len(words)
        for j in range(i + n, end):
            keep[j] = False
        i = end
    if all(keep):
        return segment
    kept = tuple(w for w, k in zip(words, keep) if k)
    text = "".join(w.word for w in kept).strip()
    return replace(segment, words=kept, text=text, end=kept[-1].end if kept else segment.end)


def _loop_at(keys: list[str], i: int) -> tuple[int, int] | None:
    """(n, repeats) of the shortest loop starting at word i, None if there is none."""
    if not keys[i]:
        return None
    for n in range(1, (len(keys) - i) // 2 + 1):
        if keys[i + n] != keys[i]:  # cheap test first: a repeat starts with the same word
            continue
        gram = keys[i:i + n]
        repeats = 1
        while keys[i + repeats * n: i + (repeats + 1) * n] == gram:
            repeats += 1
        if repeats >= LOOP_REPEATS or (repeats >= 2 and n >= LOOP_SENTENCE_WORDS):
            return n, repeats
    return None
