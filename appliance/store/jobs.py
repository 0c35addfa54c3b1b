"""The durable job queue: claims under a lease, heartbeats, and the end states of a job.

A job belongs to the worker named in lease_owner while it is running. Every change checks
that ownership inside the same BEGIN IMMEDIATE transaction that writes, so a worker whose
lease ran out and whose job was claimed again cannot overwrite the new owner's work.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from sqlite_utils import Database

from appliance.errors import NotFound
from appliance.store.concern import Concern, clock
from appliance.store.db import first, write
from appliance.store.records import Job
from appliance.store.retry import retry_at
from appliance.store.schema import JOB_STATES
from appliance.store.transcripts import call_meta, insert_transcript
from appliance.transcript.model import Transcript

# One statement per job, so a job is never assembled from two snapshots. Paths travel as
# [position, path] pairs, sorted in Python (SQLite 3.40 has no ORDER BY inside aggregates).
_JOB = """
SELECT j.*, r.call_id, r.options, c.uniqueid, c.caller, c.callee, c.direction, c.started_at,
  c.linkedid, c.kind,
  (SELECT json_group_array(json_array(f.position, f.path)) FROM recording_files f
    WHERE f.recording_id = r.id) AS paths
FROM jobs j JOIN recordings r ON r.id = j.recording_id JOIN calls c ON c.id = r.call_id
"""


def _job(row: dict) -> Job:
    return Job(
        id=row["id"],
        recording_id=row["recording_id"],
        call_id=row["call_id"],
        state=row["state"],
        attempts=row["attempts"],
        progress=row["progress"],
        error=row["error"],
        lease_owner=row["lease_owner"],
        lease_expires=row["lease_expires"],
        not_before=row["not_before"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        paths=tuple(path for _, path in sorted(json.loads(row["paths"]))),
        meta=call_meta(row),
        options=json.loads(row["options"]),
        error_code=row["error_code"],
        error_values=json.loads(row["error_values"] or "{}"),
    )


class Jobs(Concern):
    def get(self, job_id: int) -> Job:
        row = first(self._db.query(_JOB + " WHERE j.id = ?", [job_id]))
        if row is None:
            raise NotFound(f"there is no job {job_id}")
        return _job(row)

    def all(self, states: Iterable[str] | None = None, limit: int = 100) -> list[Job]:
        """Newest first."""
        if states is None:
            rows = self._db.query(_JOB + " ORDER BY j.id DESC LIMIT ?", [limit])
        else:
            states = list(states)
            rows = self._db.query(
                _JOB + f" WHERE j.state IN ({', '.join('?' * len(states))}) ORDER BY j.id DESC LIMIT ?",
                [*states, limit],
            )
        return [_job(row) for row in rows]

    def queue_stats(self) -> dict[str, int]:
        counts = dict.fromkeys(JOB_STATES, 0)
        for row in self._db.query("SELECT state, count(*) AS n FROM jobs GROUP BY state"):
            counts[row["state"]] = row["n"]
        return counts

    def claim(self, worker_id: str, lease_seconds: float, now: float | None = None) -> Job | None:
        """The oldest runnable job (queued and due, or running under a lease that ran out),
        voicemail and voice notes before calls: someone waits for their transcript by mail, and
        a long backlog of calls must not hold them up."""
        now = clock(now)
        with write(self._db):
            row = first(
                self._db.query(
                    "SELECT j.id FROM jobs j JOIN recordings r ON r.id = j.recording_id JOIN calls c ON c.id = r.call_id"
                    " WHERE (j.state = 'queued' AND j.not_before <= :now)"
                    " OR (j.state = 'running' AND j.lease_expires < :now)"
                    " ORDER BY c.kind IN ('voicemail', 'note') DESC, j.id LIMIT 1",
                    {"now": now},
                )
            )
            if row is None:
                return None
            # The previous run's error stays visible while the job waits; a new run clears it.
            self._db.execute(
                "UPDATE jobs SET state = 'running', lease_owner = ?, lease_expires = ?,"
                " attempts = attempts + 1, error = NULL, error_code = NULL, error_values = NULL, updated_at = ?"
                " WHERE id = ?",
                [worker_id, now + lease_seconds, now, row["id"]],
            )
            return self.get(row["id"])

    def heartbeat(self, job_id: int, worker_id: str, lease_seconds: float, progress: float | None = None,
                  now: float | None = None) -> bool:
        now = clock(now)
        if progress is not None:
            progress = min(max(progress, 0.0), 1.0)
        with write(self._db):
            cursor = self._db.execute(
                "UPDATE jobs SET lease_expires = ?, progress = COALESCE(?, progress), updated_at = ?"
                " WHERE id = ? AND state = 'running' AND lease_owner = ?",
                [now + lease_seconds, progress, now, job_id, worker_id],
            )
            return cursor.rowcount == 1

    def finish(self, job_id: int, worker_id: str, transcript: Transcript, now: float | None = None) -> bool:
        now = clock(now)
        with write(self._db):
            owned = _owned(self._db, job_id, worker_id)
            return owned is not None and _complete(self._db, job_id, owned["recording_id"], transcript, now)

    def store_result(self, job_id: int, transcript: Transcript, now: float | None = None) -> str:
        """A remote worker's result, keyed by job id: "stored" for the first, "duplicate" for any
        later one (a redelivered job, a worker whose lease ran out and was handed on), "deleted"
        when the job went with its call meanwhile. Whoever delivers first wins; the job's current
        holder then finds it done."""
        now = clock(now)
        with write(self._db):
            row = first(self._db.query("SELECT recording_id FROM jobs WHERE id = ?", [job_id]))
            if row is None:
                return "deleted"
            return "stored" if _complete(self._db, job_id, row["recording_id"], transcript, now) else "duplicate"

    def held(self, job_id: int, holder: str, now: float | None = None) -> Job | None:
        """The job if `holder` runs it now under a lease that has not run out, else None."""
        now = clock(now)
        row = first(self._db.query(_JOB + " WHERE j.id = ? AND j.state = 'running' AND j.lease_owner = ?"
                             " AND j.lease_expires >= ?", [job_id, holder, now]))
        return _job(row) if row is not None else None

    def fail(self, job_id: int, worker_id: str, reason: str, *, permanent: bool, max_attempts: int,
             backoff_seconds: float, now: float | None = None, code: str | None = None,
             values: dict | None = None) -> str:
        """Record a failed run: `reason` in English, and its case (`code`, `values`: ApplianceError's)
        for pages in other languages. Queued again, failed for good, or quarantined if `permanent`."""
        now = clock(now)
        with write(self._db):
            owned = _owned(self._db, job_id, worker_id)
            if owned is None:
                # Someone else's now, or deleted with its call while this worker ran.
                current = first(self._db.query("SELECT state FROM jobs WHERE id = ?", [job_id]))
                return current["state"] if current else "deleted"
            attempts = owned["attempts"]
            not_before = None
            if permanent:
                state = "quarantined"
            elif attempts >= max_attempts:
                state = "failed"
            else:
                state = "queued"
                not_before = retry_at(now, backoff_seconds, attempts)
            self._db.execute(
                "UPDATE jobs SET state = ?, error = ?, error_code = ?, error_values = ?,"
                " not_before = COALESCE(?, not_before), lease_owner = NULL, lease_expires = NULL, updated_at = ?"
                " WHERE id = ?",
                [state, reason, code, json.dumps(values, default=str) if code and values else None, not_before, now,
                 job_id],
            )
            return state

    def retry(self, job_id: int, now: float | None = None) -> None:
        """Give a failed or quarantined job a fresh set of attempts; other states are left alone."""
        now = clock(now)
        with write(self._db):
            self.get(job_id)  # NotFound
            self._db.execute(
                "UPDATE jobs SET state = 'queued', attempts = 0, not_before = ?, updated_at = ?"
                " WHERE id = ? AND state IN ('failed', 'quarantined')",
                [now, now, job_id],
            )

    def release(self, job_id: int, holder: str, now: float | None = None) -> bool:
        """Give back a claim that never ran (the broker took no ticket): queued again at once and
        the attempt not counted."""
        now = clock(now)
        with write(self._db):
            return self._db.execute(
                "UPDATE jobs SET state = 'queued', attempts = max(attempts - 1, 0), lease_owner = NULL,"
                " lease_expires = NULL, updated_at = ? WHERE id = ? AND state = 'running' AND lease_owner = ?",
                [now, job_id, holder],
            ).rowcount == 1

    def count_held(self, owner_prefix: str, now: float | None = None) -> int:
        """Running jobs under a live lease whose owner starts with owner_prefix."""
        now = clock(now)
        row = first(self._db.query(
            "SELECT count(*) AS n FROM jobs WHERE state = 'running' AND lease_expires >= ?"
            " AND substr(lease_owner, 1, ?) = ?", [now, len(owner_prefix), owner_prefix]))
        return row["n"]

    def recover_stale_leases(self, now: float | None = None) -> int:
        now = clock(now)
        with write(self._db):
            return self._db.execute(
                "UPDATE jobs SET state = 'queued', lease_owner = NULL, lease_expires = NULL,"
                " updated_at = ? WHERE state = 'running' AND lease_expires < ?",
                [now, now],
            ).rowcount


def _owned(db: Database, job_id: int, worker_id: str) -> dict | None:
    """The job's row if worker_id runs it now, else None. Call inside write()."""
    return first(
        db.query(
            "SELECT * FROM jobs WHERE id = ? AND state = 'running' AND lease_owner = ?",
            [job_id, worker_id],
        )
    )


def _complete(db: Database, job_id: int, recording_id: int, transcript: Transcript, now: float) -> bool:
    """Store the job's transcript and mark it done, unless its recording has one already.
    Call inside write()."""
    # The UNIQUE(recording_id) constraint would also stop a second transcript; checking
    # first keeps that error for real bugs.
    if first(db.query("SELECT 1 FROM transcripts WHERE recording_id = ?", [recording_id])):
        return False
    insert_transcript(db, recording_id, transcript, now)
    db.execute(
        "UPDATE jobs SET state = 'done', progress = 1.0, error = NULL, error_code = NULL, error_values = NULL,"
        " lease_owner = NULL,"
        " lease_expires = NULL, updated_at = ? WHERE id = ?",
        [now, job_id],
    )
    return True


