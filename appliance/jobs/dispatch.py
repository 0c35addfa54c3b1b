"""The box's side of remote work: hand queued jobs out as tickets, take their results back.

The box stays the only writer of SQLite: a remote worker never sees the database, only a
ticket, the job's recording (through /worker, with the ticket's token) and the result it
posts back. A handed-out job is leased to an unguessable holder like a local worker's claim,
so a remote worker that goes silent loses it the same way (stale-lease recovery) and the job
runs again; a result that arrives twice is stored once (store.jobs.store_result).

With a broker (setting broker_url) the Dispatcher replaces the local worker: it keeps up to
broker_window jobs handed to the broker, each under a broker_wait_seconds lease while it waits
there; a worker's first progress report shortens that to lease_seconds.
"""

from __future__ import annotations

import logging
import threading
from typing import Callable

from appliance.config import Settings
from appliance.jobs.contract import (
    REMOTE_PREFIX, JobResult, JobTicket, new_holder, sign, ticket_for, worker_secret,
)
from appliance.jobs.stages import run_after_commit
from appliance.nlp.redact import redact_for_site
from appliance.store import Job, Store

log = logging.getLogger(__name__)


def site_options(settings: Settings, job: Job) -> dict:
    """The job's decode options with the site's defaults filled in, so a worker with its own
    settings decodes as the box would: language by number rule or the site's (unless the site
    detects it), the rate and channels of header-less files."""
    options = {"sample_rate": settings.raw_sample_rate, "channels": settings.raw_channels, **job.options}
    language = settings.number_language(job.meta.caller, job.meta.callee)
    if language or not settings.detect_language:
        options.setdefault("language", language or settings.language)
    return options


def hand_out(store: Store, settings: Settings, lease_seconds: float | None = None) -> JobTicket | None:
    """Claim the next runnable job for a new remote holder; None when there is none."""
    holder = new_holder()
    job = store.jobs.claim(holder, lease_seconds or settings.lease_seconds)
    if job is None:
        return None
    token = sign(worker_secret(settings.data_dir), job.id, holder)
    return ticket_for(job, token, ", ".join(store.vocabulary.all()), site_options(settings, job),
                      heartbeat_seconds=settings.lease_seconds / 3)


def report_progress(store: Store, settings: Settings, job_id: int, holder: str, fraction: float,
                    worker: str, model: str, device: str) -> bool:
    """A remote worker's progress: renews its lease (False: the job is no longer its own)."""
    if not store.jobs.heartbeat(job_id, holder, settings.lease_seconds, fraction):
        return False
    if worker:
        store.workers.seen(worker, model, device, job_id)
    return True


def accept_result(store: Store, settings: Settings, result: JobResult) -> str:
    """Store a remote result once: "stored", "duplicate" or "deleted" (store.jobs.store_result)."""
    # Masked on the box, as the local worker does, so the site's policy holds for every worker.
    state = store.jobs.store_result(result.job_id, redact_for_site(result.transcript, settings))
    log.info("job %d: remote result from %s (%s) in %.1f s: %s",
             result.job_id, result.worker or "?", result.device, result.seconds, state)
    if state == "stored":
        if result.worker:
            store.workers.finished(result.worker, result.transcript.model, result.device,
                                  result.transcript.duration, result.seconds)
        run_after_commit(store, settings)
    return state


class Dispatcher:
    """Hands queued jobs to the broker; `send(ticket)` publishes one and raises if it cannot."""

    def __init__(self, settings: Settings, store: Store, send: Callable[[JobTicket], None]) -> None:
        self.settings, self.store, self.send = settings, store, send
        # Set when a job was queued (appliance.jobs.nudge), as for the local worker.
        self.jobs_queued = threading.Event()

    def run_once(self) -> int:
        """Hand out what fits in the window; the number of jobs sent."""
        sent = 0
        room = self.settings.broker_window - self.store.jobs.count_held(REMOTE_PREFIX)
        while sent < room:
            ticket = hand_out(self.store, self.settings, self.settings.broker_wait_seconds)
            if ticket is None:
                break
            try:
                self.send(ticket)
            except Exception as exc:  # noqa: BLE001 - any broker failure: the job stays on the box
                self.store.jobs.release(ticket.job_id, ticket.holder)
                log.warning("job %d stays queued: the broker took no ticket (%s: %s)",
                            ticket.job_id, type(exc).__name__, exc)
                break
            sent += 1
        if sent:
            log.info("%d job(s) handed to the broker", sent)
        return sent

    def run_forever(self, stop: threading.Event) -> None:
        log.info("dispatching jobs to the broker, %d at a time", self.settings.broker_window)
        while not stop.is_set():
            self.run_once()
            self.jobs_queued.wait(self.settings.poll_interval_seconds)
            self.jobs_queued.clear()
