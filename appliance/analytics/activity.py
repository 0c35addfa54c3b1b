"""Who speaks when, for the metrics: measured per channel, or taken from diarized turns.

On stereo calls each party has its own channel, and the other party's echo (bleed) must never
count as speech. The transcription's bleed suppression (appliance.diarize.crosstalk) errs
towards muting, with a fixed margin: a syllable lost costs less there than a sentence written
twice. Timing needs the soft ends of words too, even while the other party talks. So here the
echo is first cancelled: its delay and gain are measured on the call's own stretches where only
the other party speaks, and the delayed, scaled other channel is subtracted. On what is left, a
frame is the party's own speech when it is clearly above the channel's noise floor and above
whatever echo remains (the residual echo loss, measured the same way). Mono calls only have the
diarizer's turns: estimates.
"""

from __future__ import annotations

import numpy as np

from appliance.analytics.metrics import Spans, spans_from_mask
from appliance.diarize.crosstalk import (ACTIVE_DB, ECHO_FRAMES, FRAME, OWN_SPEECH_ABOVE_BLEED_DB, RATE,
                                         frame_levels_db, window_max)
from appliance.transcript.model import Transcript

# Speech stands this far above the quietest tenth of a channel's frames (its line noise).
ABOVE_NOISE_DB = 12.0
NOISE_PERCENTILE = 10
# With no frame to measure the echo on, assume a loss no real line is worse than.
DEFAULT_ECHO_LOSS_DB = -20.0
# Echo cancellation: the echo arrives at most this late; its path is measured on up to
# ECHO_WINDOWS stretches of WINDOW samples in which only the other party speaks.
MAX_ECHO_DELAY = 0.1
ECHO_WINDOWS = 40
WINDOW = RATE // 2


def echo_loss_db(own: np.ndarray, other: np.ndarray) -> float:
    """How much quieter the other party arrives on this channel: the median level difference
    over the frames where the other party is active and clearly louder (mostly: only it
    speaks; where both speak the levels are close)."""
    heard = (other > ACTIVE_DB) & (own < other - OWN_SPEECH_ABOVE_BLEED_DB)
    return float(np.median(own[heard] - other[heard])) if heard.any() else DEFAULT_ECHO_LOSS_DB


def _echo_path(own: np.ndarray, other: np.ndarray, own_db: np.ndarray, other_db: np.ndarray) -> tuple[int, float]:
    """Delay (samples) and gain of the other party's echo on this channel, measured on the
    half seconds where only the other party speaks: (0, 0.0) when there are none."""
    lead, per_window = int(MAX_ECHO_DELAY * RATE), WINDOW // FRAME
    heard = (other_db > ACTIVE_DB) & (own_db < other_db - OWN_SPEECH_ABOVE_BLEED_DB)
    count = len(heard) // per_window
    share = heard[: count * per_window].reshape(count, per_window).mean(axis=1)
    starts = [w * WINDOW for w in np.argsort(-share)[:ECHO_WINDOWS] if share[w] >= 0.8 and w * WINDOW >= lead]
    if not starts:
        return 0, 0.0
    size = 1 << int(np.ceil(np.log2(2 * WINDOW + lead)))
    # correlation[k]: own against the other k samples earlier, summed over the windows.
    correlation = np.zeros(lead + 1)
    for start in starts:
        earlier = np.fft.rfft(other[start - lead: start + WINDOW], size)
        now = np.fft.rfft(own[start: start + WINDOW], size)
        correlation += np.fft.irfft(earlier * np.conj(now), size)[lead::-1][: lead + 1]
    delay = int(np.argmax(np.abs(correlation)))
    energy = sum(float(np.sum(other[start - delay: start - delay + WINDOW] ** 2)) for start in starts)
    return delay, float(correlation[delay] / energy) if energy else 0.0


def cancel_echo(channels: list[np.ndarray], levels: list[np.ndarray]) -> list[np.ndarray]:
    """Each channel less the other party's echo, modelled as the other channel delayed and
    scaled (what the call's own quiet stretches show; `levels` the channels' frame levels).
    What is left of the echo is far below the party's soft syllables, so those count as speech
    even while the other one talks."""
    cleaned = []
    for i, own in enumerate(channels):
        residual = own.astype(np.float32)  # a copy
        for j, other in enumerate(channels):
            if j != i:
                delay, gain = _echo_path(own, other, levels[i], levels[j])
                residual[delay:] -= np.float32(gain) * other[: len(other) - delay]
        cleaned.append(residual)
    return cleaned


def channel_activity(channels: list[np.ndarray]) -> list[Spans]:
    """Per channel (16 kHz), the spans where it carries its own party's speech."""
    levels = [frame_levels_db(ch) for ch in cancel_echo(channels, [frame_levels_db(ch) for ch in channels])]
    activity = []
    for i, own in enumerate(levels):
        others = [window_max(lv, ECHO_FRAMES) for j, lv in enumerate(levels) if j != i]
        other = np.max(others, axis=0) if others else np.full_like(own, -120.0)
        loss = max((echo_loss_db(own, lv) for j, lv in enumerate(levels) if j != i), default=DEFAULT_ECHO_LOSS_DB)
        floor = float(np.percentile(own, NOISE_PERCENTILE))
        speech = (own > max(ACTIVE_DB, floor + ABOVE_NOISE_DB)) & (own >= other + loss + OWN_SPEECH_ABOVE_BLEED_DB)
        activity.append(spans_from_mask(speech, FRAME / RATE))
    return activity


def turn_activity(transcript: Transcript) -> list[Spans]:
    """Each speaker's turns as spans (mono calls: the diarizer's estimate)."""
    activity: list[Spans] = [[] for _ in transcript.speakers]
    for turn in transcript.turns:
        if 0 <= turn.speaker < len(activity):
            activity[turn.speaker].append((turn.start, turn.end))
    return activity


def spoken_text(transcript: Transcript) -> list[str]:
    """All of each speaker's words, for word counts and questions."""
    texts: list[list[str]] = [[] for _ in transcript.speakers]
    for turn in transcript.turns:
        if 0 <= turn.speaker < len(texts):
            texts[turn.speaker].append(turn.text)
    return [" ".join(parts) for parts in texts]
