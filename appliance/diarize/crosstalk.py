"""Channel bleed: the other party heard at low level on a party's own channel.

Analogue hybrids, handsets and loud earpieces leak one party into the other's channel. If
both channels were transcribed as they are, the louder party's sentences would appear twice.
Two layers stop that:

1. Before recognition, per 20 ms frame, a channel that is not clearly louder than the bleed
   expected from the other channel is muted. The expected bleed level comes from the call
   itself: the median level difference over the frames where the other side is active (most
   of a conversation is one party at a time, so that median is the echo return loss). Real
   overlapping speech is loud on its own channel and survives.
2. After recognition, `drop_echoed_words` removes a word that repeats, at the same moment,
   a word of another channel which is louder there (bleed that got through).
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np

RATE = 16000
FRAME = 320  # 20 ms
# The other side's level counts for this many frames either way (echo delay, smearing).
ECHO_FRAMES = 5
# Below this level a frame is silence on that channel and cannot cause muting elsewhere.
ACTIVE_DB = -45.0
# A frame must be this much above the expected bleed to count as the party's own speech.
OWN_SPEECH_ABOVE_BLEED_DB = 6.0
# Bleed nearly as loud as speech cannot be told apart by level; never mute above this.
LOUDEST_MUTE_DB = -3.0
# Word-level echo check: same word, start within this many seconds, this much quieter.
ECHO_WORD_SECONDS = 0.4
ECHO_WORD_QUIETER_DB = 3.0


def frame_levels_db(samples: np.ndarray) -> np.ndarray:
    frames = len(samples) // FRAME
    framed = samples[: frames * FRAME].reshape(frames, FRAME)
    power = np.einsum("ij,ij->i", framed, framed) / FRAME  # a sum of squares per frame, no copy
    return 10 * np.log10(power + 1e-12)


def window_max(levels: np.ndarray, radius: int) -> np.ndarray:
    padded = np.pad(levels, radius, mode="edge")
    return np.lib.stride_tricks.sliding_window_view(padded, 2 * radius + 1).max(axis=1)


def mute_threshold_db(own: np.ndarray, other: np.ndarray, margin_db: float) -> float:
    """How far below the other channel a frame of `own` must be to count as bleed only."""
    active = other > ACTIVE_DB
    if not active.any():
        return -margin_db
    echo_return_loss = float(np.median(own[active] - other[active]))
    return min(LOUDEST_MUTE_DB, max(-margin_db, echo_return_loss + OWN_SPEECH_ABOVE_BLEED_DB))


def suppress_bleed(channels: list[np.ndarray], margin_db: float) -> list[np.ndarray]:
    """Mute, per frame, each channel where it carries only the other party's bleed."""
    if len(channels) < 2:
        return list(channels)
    levels = [frame_levels_db(ch) for ch in channels]

    def loudest_other(i: int, levels_by_channel) -> np.ndarray:
        others = [window_max(lv, ECHO_FRAMES) for j, lv in enumerate(levels_by_channel) if j != i]
        return np.max(others, axis=0)

    thresholds = [mute_threshold_db(levels[i], loudest_other(i, levels), margin_db) for i in range(len(levels))]
    # First pass: where is each party itself talking (loud, and not explained as bleed)?
    own_speech = [
        np.where((lv > ACTIVE_DB) & (lv >= loudest_other(i, levels) + thresholds[i]), lv, -120.0)
        for i, lv in enumerate(levels)
    ]
    result = []
    for i, channel in enumerate(channels):
        # Only the others' own speech can leak in; their bleed of this party does not count,
        # or this party's soft sounds next to its loud ones would be muted.
        other = loudest_other(i, own_speech)
        bleed_only = (other > ACTIVE_DB) & (levels[i] < other + thresholds[i])
        mask = np.repeat(~bleed_only, FRAME).astype(np.float32)
        mask = np.pad(mask, (0, len(channel) - len(mask)), constant_values=1.0)
        result.append(channel * mask)
    return result


def _key(word: str) -> str:
    return re.sub(r"[^\w]+", "", word.lower())


def _level_db(samples: np.ndarray, start: float, end: float) -> float:
    part = samples[int(start * RATE): max(int(end * RATE), int(start * RATE) + 1)]
    return 10 * np.log10(float(np.mean(part ** 2)) + 1e-12) if len(part) else -120.0


def drop_echoed_words(per_channel: list[list], channels: list[np.ndarray]) -> list[list]:
    """Remove words that another, louder channel said at the same moment; drop empty segments."""
    spoken = [
        [(w.start, _key(w.word)) for seg in segments for w in seg.words]
        for segments in per_channel
    ]

    def echoed(ch: int, word) -> bool:
        key = _key(word.word)
        own = _level_db(channels[ch], word.start, word.end)
        return any(
            other_key == key and abs(start - word.start) <= ECHO_WORD_SECONDS
            and own < _level_db(channels[other], word.start, word.end) - ECHO_WORD_QUIETER_DB
            for other, words in enumerate(spoken) if other != ch
            for start, other_key in words
        )

    result = []
    for ch, segments in enumerate(per_channel):
        kept_segments = []
        for segment in segments:
            words = tuple(w for w in segment.words if not echoed(ch, w))
            if words == segment.words:
                kept_segments.append(segment)
            elif words:
                text = "".join(w.word for w in words).strip()
                kept_segments.append(dataclasses.replace(segment, words=words, text=text,
                                                         start=words[0].start, end=words[-1].end))
        result.append(kept_segments)
    return result
