"""Calls of real speech placed at known times, for the conversation metrics' tests and
bench/metrics.py. Not part of the product.

Clean prompts (Debian's asterisk-core-sounds-en-wav) are placed on a party's channel at a
chosen second, optionally cut off mid-sentence (the party stops when interrupted); each party's
echo is mixed into the other channel and line noise into both. Where each party speaks is known
by construction: from the placement and the prompt's own first and last loud frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from appliance.democall import CALL_RATE, read_voice
from appliance.errors import ApplianceError

# A prompt's speech runs from its first to its last 10 ms frame within this much of its loudest.
_SPEECH_BELOW_PEAK_DB = 35.0
_TRIM_FRAME = CALL_RATE // 100


@dataclass(frozen=True)
class Placement:
    party: int  # 0 = caller (channel 0), 1 = callee (channel 1)
    path: Path
    at: float  # seconds into the call where the file starts
    cut: float | None = None  # seconds into the call where the party stops mid-sentence


def speech_extent(voice: np.ndarray) -> tuple[float, float]:
    """Where in a clean prompt the voice is: its first and last loud 10 ms frame, in seconds."""
    frames = len(voice) // _TRIM_FRAME
    power = np.mean(voice[: frames * _TRIM_FRAME].reshape(frames, _TRIM_FRAME) ** 2, axis=1)
    levels = 10 * np.log10(power + 1e-12)
    loud = np.flatnonzero(levels > levels.max() - _SPEECH_BELOW_PEAK_DB)
    return loud[0] * _TRIM_FRAME / CALL_RATE, (loud[-1] + 1) * _TRIM_FRAME / CALL_RATE


def place_voices(placements: Sequence[Placement], *, bleed_db: float = -24.0, echo_delay: float = 0.04,
                 noise_db: float = -60.0, tail: float = 0.5, seed: int = 0, hybrid: bool = False):
    """A stereo call of clean prompts placed at known times, with each party's echo on the other
    channel (a delayed copy, or with `hybrid` filtered like an analogue line's) and line noise on
    both. Returns the (n, 2) 8 kHz call and, per party, the spans
    (start, end) in which it speaks, known by construction."""
    missing = [p.path for p in placements if not p.path.is_file()]
    if missing:
        raise ApplianceError(f"voices missing ({missing[0]}): apt-get install asterisk-core-sounds-en-wav")
    voices, truth = [], [[], []]
    for placement in placements:
        voice = read_voice(placement.path)
        if placement.cut is not None:
            voice = voice[: int((placement.cut - placement.at) * CALL_RATE)].copy()
            fade = min(len(voice), CALL_RATE // 50)  # 20 ms: the party falls silent, no click
            voice[len(voice) - fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
        start, end = speech_extent(voice)
        voices.append(voice)
        truth[placement.party].append((placement.at + start, placement.at + end))
    total = int((max(p.at + len(v) / CALL_RATE for p, v in zip(placements, voices)) + tail) * CALL_RATE)
    clean = np.zeros((total, 2), dtype=np.float32)
    for placement, voice in zip(placements, voices):
        offset = int(placement.at * CALL_RATE)
        clean[offset: offset + len(voice), placement.party] += voice
    delay, gain = int(echo_delay * CALL_RATE), 10 ** (bleed_db / 20)
    echo = clean
    if hybrid:
        # An analogue hybrid's echo is no clean copy: smeared over a few milliseconds, its
        # highs and lows cut, its sign flipped in part.
        response = np.array([0.5, 0.9, 0.4, -0.3, -0.5, -0.2, 0.15, 0.1], dtype=np.float32)
        response /= np.sqrt(np.sum(response ** 2))
        echo = np.stack([np.convolve(clean[:, c], response)[:total] for c in (0, 1)], axis=1)
    call = clean.copy()
    call[delay:, 0] += echo[: total - delay, 1] * gain
    call[delay:, 1] += echo[: total - delay, 0] * gain
    call += np.random.default_rng(seed).normal(0.0, 10 ** (noise_db / 20), call.shape).astype(np.float32)
    return np.clip(call, -1.0, 1.0), [sorted(spans) for spans in truth]
