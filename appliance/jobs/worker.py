"""The worker: claim a job, transcribe its recording, commit the transcript, repeat.

Durability comes from the store: a claim is a lease that a heartbeat thread renews while the
job runs; a worker killed at any instant simply stops renewing, the lease expires and
another worker (or this one, restarted) takes the job again. The transcript and the job's
"done" state are committed in one transaction, and only by the lease holder, so a recording
never gets two transcripts.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid

from appliance.config import Settings
from appliance.errors import ApplianceError
from appliance.nlp.redact import redact_for_site
from appliance.disk import intake_paused
from appliance.jobs.stages import run_after_commit
from appliance.pipeline import transcribe_recording
from appliance.store import Job, Store
from appliance.stt import SpeechToText, engine_for

log = logging.getLogger(__name__)


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class _Heartbeat(threading.Thread):
    """Renews the lease and stores progress while the job runs (own DB connection)."""

    def __init__(self, settings: Settings, job: Job, worker_id: str) -> None:
        super().__init__(daemon=True, name=f"heartbeat-{job.id}")
        self.settings, self.job, self.worker_id = settings, job, worker_id
        self.progress = 0.0
        self.lost = False
        self._stop_event = threading.Event()

    def run(self) -> None:
        store = Store.open(self.settings)
        try:
            interval = self.settings.lease_seconds / 3
            while not self._stop_event.wait(interval):
                if not store.jobs.heartbeat(self.job.id, self.worker_id, self.settings.lease_seconds, self.progress):
                    self.lost = True
                    return
        finally:
            store.close()

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


class Worker:
    def __init__(self, settings: Settings, store: Store, engine: SpeechToText | None = None,
                 worker_id: str | None = None):
        self.settings = settings
        self.store = store
        self.engine = engine or engine_for(settings)
        self.worker_id = worker_id or new_worker_id()
        self.paused = False  # intake paused for lack of disk space
        # Set when a job was queued (appliance.jobs.nudge): the worker takes it at once instead
        # of at its next poll. on_finished(job) runs after each transcript is committed.
        self.jobs_queued = threading.Event()
        self.on_finished = None

    def run_once(self) -> bool:
        """Process one job if there is one; True if a job was taken."""
        if intake_paused(self.settings):
            # A full disk would fail the transcript's commit (or worse, a decoder's temp file)
            # over and over: wait with the job safely queued until space is freed.
            if not self.paused:
                log.warning("worker %s: disk space low; not taking jobs until it is freed", self.worker_id)
            self.paused = True
            return False
        self.paused = False
        job = self.store.jobs.claim(self.worker_id, self.settings.lease_seconds)
        if job is None:
            return False
        self._process(job)
        return True

    def run_forever(self, stop: threading.Event) -> None:
        log.info("worker %s started", self.worker_id)
        while not stop.is_set():
            if not self.run_once():
                self.jobs_queued.wait(self.settings.poll_interval_seconds)
                self.jobs_queued.clear()
        log.info("worker %s stopped", self.worker_id)

    def _process(self, job: Job) -> None:
        started = time.monotonic()
        log.info("job %d: attempt %d, %d file(s)", job.id, job.attempts, len(job.paths))
        if job.attempts > self.settings.max_attempts:
            # Earlier attempts died without a word (killed, out of memory): set it aside
            # rather than let one recording take workers down forever.
            self._fail(job, ApplianceError(
                f"the worker stopped {job.attempts - 1} times while transcribing this recording (killed or out "
                "of memory); retry it once the cause is fixed", "worker-stopped", times=job.attempts - 1))
            return
        heartbeat = _Heartbeat(self.settings, job, self.worker_id)
        heartbeat.start()
        try:
            transcript = transcribe_recording(
                job.paths,
                job.meta,
                self.settings,
                self.engine,
                options=job.options,
                hotwords=", ".join(self.store.vocabulary.all()),
                on_progress=lambda fraction: setattr(heartbeat, "progress", fraction),
            )
            # Masked before the store sees it, so nothing unredacted is ever written or indexed.
            transcript = redact_for_site(transcript, self.settings)
        except ApplianceError as exc:
            heartbeat.stop()
            self._fail(job, exc)
            return
        except Exception as exc:  # noqa: BLE001 - any bug must be stored with the job, not kill the service
            heartbeat.stop()
            log.exception("job %d: internal error", job.id)
            error = f"{type(exc).__name__}: {exc}"
            self._fail(job, ApplianceError(f"internal error ({error}); the job will be retried", "internal-error",
                                           error=error))
            return
        heartbeat.stop()
        if self.store.jobs.finish(job.id, self.worker_id, transcript):
            log.info("job %d: done, %.1f s audio, %d turns in %.1f s",
                     job.id, transcript.duration, len(transcript.turns), time.monotonic() - started)
            if self.on_finished is not None:
                self.on_finished(job)
            run_after_commit(self.store, self.settings)
        else:
            log.warning("job %d: lease lost before commit; another worker owns it", job.id)

    def _fail(self, job: Job, error: ApplianceError) -> None:
        """Store the failure: its English text, and its case for pages in other languages."""
        permanent = error.permanent
        state = self.store.jobs.fail(
            job.id, self.worker_id, str(error),
            permanent=permanent,
            max_attempts=self.settings.max_attempts,
            backoff_seconds=self.settings.retry_backoff_seconds,
            code=error.code, values=error.values,
        )
        # The reason may quote a file name but never transcript text or numbers: safe to log.
        log.warning("job %d: %s -> %s", job.id, "bad input" if permanent else "error", state)
