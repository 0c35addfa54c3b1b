"""The box's side of remote work: hand a queued job out as a ticket, take its result back.

The box stays the only writer of SQLite: a remote worker never sees the database, only a
ticket, the job's recording (through /worker, with the ticket's token) and the result it
posts back. A handed-out job is leased to an unguessable holder like a local worker's claim,
so a remote worker that goes silent loses it the same way (stale-lease recovery) and the job
runs again; a result that arrives twice is stored once (store.store_result).
"""

from __future__ import annotations

import logging

from appliance.analytics.stage import run_safely as run_metrics_stage
from appliance.jobs.contract import JobResult, JobTicket, new_holder, sign, ticket_for, worker_secret
from appliance.nlp.redact import redact_for_site
from appliance.nlp.stage import run_safely as run_nlp_stage
from appliance.store import Store

log = logging.getLogger(__name__)


def hand_out(store: Store, settings, lease_seconds: float | None = None) -> JobTicket | None:
    """Claim the next runnable job for a new remote holder; None when there is none."""
    holder = new_holder()
    job = store.claim_job(holder, lease_seconds or settings.lease_seconds)
    if job is None:
        return None
    token = sign(worker_secret(settings.data_dir), job.id, holder)
    return ticket_for(job, token, ", ".join(store.vocabulary()))


def accept_result(store: Store, settings, result: JobResult) -> str:
    """Store a remote result once: "stored", "duplicate" or "deleted" (store.store_result)."""
    # Masked on the box, as the local worker does, so the site's policy holds for every worker.
    state = store.store_result(result.job_id, redact_for_site(result.transcript, settings))
    log.info("job %d: remote result from %s (%s) in %.1f s: %s",
             result.job_id, result.worker or "?", result.device, result.seconds, state)
    if state == "stored":
        run_nlp_stage(store, settings)
        run_metrics_stage(store, settings)
    return state
