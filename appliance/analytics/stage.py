"""The metrics stage: conversation metrics for every call whose newest transcript has none.

appliance.jobs.stages runs it after each commit (after the nlp stage) and as a safety net
(a worker killed in between, calls from before this stage, a call's new transcript). Stereo calls are measured on their channels (exact); mono calls, and
calls whose audio is gone, get estimates from their turns.
"""

from __future__ import annotations

import logging
import time

from appliance.analytics.activity import channel_activity, spoken_text, turn_activity
from appliance.analytics.metrics import CallMetrics, compute
from appliance.config import Settings
from appliance.diarize.channels import same_signal
from appliance.errors import ApplianceError
from appliance.pipeline import recording_audio
from appliance.transcript.model import Transcript

log = logging.getLogger(__name__)
BATCH = 20  # calls per run, so a backlog never holds the worker up for long


def measure(transcript: Transcript, audio=None) -> CallMetrics:
    """The call's metrics: from its channels when `audio` has one per speaker, else from turns."""
    channels = list(audio.channels) if audio is not None else []
    if len(channels) > 1 and len(channels) == len(transcript.speakers) and not same_signal(channels):
        activity, exact = channel_activity(channels), True
    else:
        activity, exact = turn_activity(transcript), False
    return compute(activity, spoken_text(transcript), exact=exact)


def _audio(store, settings: Settings, call_id: int):
    """The call's decoded recording, or None when it is gone or unreadable (then: estimates)."""
    try:
        return recording_audio(store.recordings.files(call_id), settings, store.recordings.options(call_id))
    except (ApplianceError, OSError) as exc:
        log.info("metrics: call %d: no audio to measure (%s); estimating from turns", call_id, type(exc).__name__)
        return None


def run_pending(store, settings: Settings, limit: int = BATCH) -> int:
    """Measure up to `limit` calls; returns how many were stored."""
    done = 0
    for call_id, transcript_id in store.metrics.needing(limit):
        transcript = store.transcripts.get(call_id)
        if transcript is None:
            continue
        started, error = time.monotonic(), None
        try:
            metrics = measure(transcript, _audio(store, settings, call_id)).to_dict()
        except Exception as exc:  # noqa: BLE001 - stored with the call, never retried in a loop
            log.exception("metrics: call %d failed", call_id)
            metrics, error = {}, f"{type(exc).__name__}: {exc}"
        store.metrics.save(call_id, transcript_id, metrics, error)
        done += 1
        log.info("metrics: call %d, %s, in %.0f ms", call_id,
                 "exact" if metrics.get("exact") else "estimated", (time.monotonic() - started) * 1000)
    return done
