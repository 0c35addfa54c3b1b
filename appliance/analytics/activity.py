"""Who speaks when, for the metrics: measured per channel, or taken from diarized turns.

On stereo calls each party has its own channel, and the other party's echo (bleed) must never
count as speech. The transcription's bleed suppression (appliance.diarize.crosstalk) errs
towards muting, with a fixed margin: a syllable lost costs less there than a sentence written
twice. Timing needs the soft ends of words too, so here the echo return loss measured on the
call itself decides: a frame is the party's own speech when it is clearly above its noise floor
and louder than the other channel's echo would be. Mono calls only have the diarizer's turns:
estimates.
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


def echo_loss_db(own: np.ndarray, other: np.ndarray) -> float:
    """How much quieter the other party arrives on this channel: the median level difference
    over the frames where the other party is active and clearly louder (mostly: only it
    speaks; where both speak the levels are close)."""
    heard = (other > ACTIVE_DB) & (own < other - OWN_SPEECH_ABOVE_BLEED_DB)
    return float(np.median(own[heard] - other[heard])) if heard.any() else DEFAULT_ECHO_LOSS_DB


def channel_activity(channels: list[np.ndarray]) -> list[Spans]:
    """Per channel (16 kHz), the spans where it carries its own party's speech."""
    levels = [frame_levels_db(ch) for ch in channels]
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
