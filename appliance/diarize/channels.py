"""Speakers from channels: stereo calls carry one party per channel."""

from __future__ import annotations

from appliance.audio import Audio
from appliance.diarize import Track
from appliance.diarize.crosstalk import suppress_bleed
from appliance.transcript.model import CallMeta, Speaker


def party_speakers(meta: CallMeta, count: int) -> list[Speaker]:
    """Name each channel's party from the call metadata.

    MixMonitor's channel 0 is what the channel it runs on *reads* (that party speaking),
    channel 1 what it *writes* (the other party). Our dialplan runs it on the caller's
    channel, so channel 0 is the caller.
    """
    if count == 1:
        label = meta.caller if meta.kind in ("voicemail", "note") and meta.caller else "Speaker 1"
        return [Speaker(index=0, label=label, role="speaker")]
    caller = Speaker(index=0, label=meta.caller or "Caller", role="caller")
    callee = Speaker(index=1, label=meta.callee or "Callee", role="callee")
    return [caller, callee][:count]


def split_tracks(audio: Audio, meta: CallMeta, bleed_margin_db: float) -> list[Track]:
    channels = list(audio.channels)
    if len(channels) == 2 and same_signal(channels):
        # A mono recording saved as stereo (both channels equal): one speaker, not two.
        channels = channels[:1]
    cleaned = suppress_bleed(channels, bleed_margin_db)
    speakers = party_speakers(meta, len(cleaned))
    return [Track(speaker=s, samples=c) for s, c in zip(speakers, cleaned)]


def same_signal(channels) -> bool:
    a, b = channels
    return bool(len(a) == len(b) and max(abs(a - b).max(), 0.0) < 1e-4)
