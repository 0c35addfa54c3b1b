"""`Store`: the one object the rest of the appliance uses to reach the database.

Each method is one transaction or one read. A Store holds one connection; a lock serializes
its use, so one Store may be shared by threads (a worker's heartbeat thread, web requests).
Processes each open their own.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from appliance.store import calls, intake, jobs, search, transcripts, vocabulary
from appliance.store.db import connect
from appliance.store.records import CallSummary, EnqueueResult, Job, SearchHit
from appliance.transcript.model import CallMeta, Transcript


def _serialized(method):
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with self._lock:
            return method(self, *args, **kwargs)

    return wrapper


def _now(now: float | None) -> float:
    return time.time() if now is None else now


class Store:
    def __init__(self, db_path: Path | str):
        self.path = Path(db_path)
        self._db = connect(self.path)
        self._lock = threading.RLock()

    @classmethod
    def open(cls, settings) -> "Store":
        settings.db_path.parent.mkdir(parents=True, exist_ok=True)
        return cls(settings.db_path)

    @_serialized
    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # Intake

    @_serialized
    def enqueue_recording(
        self, meta: CallMeta, paths: Sequence[Path | str], options: dict | None = None
    ) -> EnqueueResult:
        return intake.enqueue_recording(self._db, meta, paths, options, time.time())

    @_serialized
    def known_paths(self) -> set[str]:
        return intake.known_paths(self._db)

    # Jobs

    @_serialized
    def claim_job(
        self, worker_id: str, lease_seconds: float, now: float | None = None
    ) -> Job | None:
        return jobs.claim(self._db, worker_id, lease_seconds, _now(now))

    @_serialized
    def heartbeat(
        self,
        job_id: int,
        worker_id: str,
        lease_seconds: float,
        progress: float | None = None,
        now: float | None = None,
    ) -> bool:
        return jobs.heartbeat(self._db, job_id, worker_id, lease_seconds, progress, _now(now))

    @_serialized
    def finish_job(self, job_id: int, worker_id: str, transcript: Transcript) -> bool:
        return jobs.finish(self._db, job_id, worker_id, transcript, time.time())

    @_serialized
    def fail_job(
        self,
        job_id: int,
        worker_id: str,
        reason: str,
        *,
        permanent: bool,
        max_attempts: int,
        backoff_seconds: float,
        now: float | None = None,
    ) -> str:
        return jobs.fail(
            self._db,
            job_id,
            worker_id,
            reason,
            permanent=permanent,
            max_attempts=max_attempts,
            backoff_seconds=backoff_seconds,
            now=_now(now),
        )

    @_serialized
    def retry_job(self, job_id: int) -> None:
        jobs.retry(self._db, job_id, time.time())

    @_serialized
    def recover_stale_leases(self, now: float | None = None) -> int:
        return jobs.recover_stale_leases(self._db, _now(now))

    @_serialized
    def job(self, job_id: int) -> Job:
        return jobs.job(self._db, job_id)

    @_serialized
    def jobs(self, states: Iterable[str] | None = None, limit: int = 100) -> list[Job]:
        return jobs.jobs(self._db, states, limit)

    @_serialized
    def queue_stats(self) -> dict[str, int]:
        return jobs.queue_stats(self._db)

    # Reads

    @_serialized
    def calls(self, limit: int = 50, offset: int = 0) -> list[CallSummary]:
        return calls.calls(self._db, limit, offset)

    @_serialized
    def call(self, call_id: int) -> CallSummary:
        return calls.call(self._db, call_id)

    @_serialized
    def transcript(self, call_id: int) -> Transcript | None:
        return transcripts.read_transcript(self._db, call_id)

    @_serialized
    def transcript_count(self, recording_id: int | None = None) -> int:
        return transcripts.transcript_count(self._db, recording_id)

    @_serialized
    def search(self, query: str, limit: int = 20) -> list[SearchHit]:
        return search.search(self._db, query, limit)

    # Site vocabulary

    @_serialized
    def vocabulary(self) -> list[str]:
        return vocabulary.vocabulary(self._db)

    @_serialized
    def add_vocabulary(self, term: str) -> None:
        vocabulary.add(self._db, term, time.time())

    @_serialized
    def remove_vocabulary(self, term: str) -> None:
        vocabulary.remove(self._db, term)
