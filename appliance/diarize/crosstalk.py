"""Channel bleed: the other party heard at low level on a party's own channel.

Telephone hybrids, handsets and loud earpieces leak one party into the other's channel. If
both channels were transcribed as they are, the louder party's sentences would appear twice.
Two layers stop that:

1. Before recognition, per 20 ms frame, a channel that is much quieter than the other (by
   `margin_db`, the other side's level taken as its maximum over a short window to cover
   echo delay) carries only bleed and is muted. Real overlapping speech is loud on both
   channels and survives.
2. After recognition, `drop_echoed_segments` removes a segment whose text repeats an
   overlapping segment of the other channel which is louder there (bleed that got through).
"""

from __future__ import annotations

import difflib
import re

import numpy as np

FRAME = 320  # 20 ms at 16 kHz
# The other side's level counts for this many frames either way (echo delay, smearing).
ECHO_FRAMES = 5
# Below this level a frame is silence on that channel and cannot cause muting elsewhere.
ACTIVE_DB = -55.0
SIMILAR_TEXT = 0.75


def frame_levels_db(samples: np.ndarray) -> np.ndarray:
    frames = len(samples) // FRAME
    power = np.mean(samples[: frames * FRAME].reshape(frames, FRAME) ** 2, axis=1)
    return 10 * np.log10(power + 1e-12)


def _window_max(levels: np.ndarray, radius: int) -> np.ndarray:
    padded = np.pad(levels, radius, mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * radius + 1)
    return windows.max(axis=1)


def suppress_bleed(channels: list[np.ndarray], margin_db: float) -> list[np.ndarray]:
    """Mute, per frame, each channel that is `margin_db` quieter than the loudest other one."""
    if len(channels) < 2:
        return list(channels)
    levels = [frame_levels_db(ch) for ch in channels]
    result = []
    for i, channel in enumerate(channels):
        others = np.max([_window_max(lv, ECHO_FRAMES) for j, lv in enumerate(levels) if j != i], axis=0)
        bleed_only = (others > ACTIVE_DB) & (levels[i] < others - margin_db)
        mask = np.repeat(~bleed_only, FRAME).astype(np.float32)
        mask = np.pad(mask, (0, len(channel) - len(mask)), constant_values=1.0)
        result.append(channel * mask)
    return result


def _words(text: str) -> str:
    return re.sub(r"[^\w ]+", "", text.lower()).strip()


def drop_echoed_segments(per_channel: list[list], channels: list[np.ndarray]) -> list[list]:
    """Remove a segment that repeats an overlapping, louder segment of another channel."""
    def level(ch: int, seg) -> float:
        part = channels[ch][int(seg.start * 16000): int(seg.end * 16000)]
        return float(np.mean(part ** 2)) if len(part) else 0.0

    dropped: set[tuple[int, int]] = set()
    for a, segments_a in enumerate(per_channel):
        for b, segments_b in enumerate(per_channel):
            if a == b:
                continue
            for ia, seg_a in enumerate(segments_a):
                for seg_b in segments_b:
                    overlaps = seg_a.start < seg_b.end and seg_b.start < seg_a.end
                    if not overlaps:
                        continue
                    similar = difflib.SequenceMatcher(None, _words(seg_a.text), _words(seg_b.text)).ratio()
                    if similar >= SIMILAR_TEXT and level(a, seg_a) < level(b, seg_b):
                        dropped.add((a, ia))
    return [[s for i, s in enumerate(segs) if (ch, i) not in dropped] for ch, segs in enumerate(per_channel)]
