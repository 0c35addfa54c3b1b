"""`Store`: the one object the rest of the appliance uses to reach the database.

Each method is one transaction or one read. A Store holds one connection; a lock serializes
its use, so one Store may be shared by threads (a worker's heartbeat thread, web requests).
Processes each open their own.

A Store sees the calls of its scope (appliance/store/scopes.py): every call, unless opened with
a user's scope or made with scoped(); the web's is always the logged-in user's.
"""

from __future__ import annotations

import contextlib
import functools
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from datetime import tzinfo
from pathlib import Path

from appliance.config import Settings
from appliance.store import (
    calls,
    contacts,
    edits,
    intake,
    jobs,
    recordings,
    scopes,
    search,
    transcripts,
)
from appliance import filemodes
from appliance.errors import LegalHold, NotAllowed, NotFound
from appliance.store.alerts import Alerts
from appliance.store.audit import AuditLog
from appliance.store.cdr import CallRecords
from appliance.store.concern import concern
from appliance.store.dashboard import Dashboard
from appliance.store.db import QueryPlan, connect, query_plans, write
from appliance.store.heard import Heard
from appliance.store.live import LiveCalls
from appliance.store.saved import SavedFilters
from appliance.store.logins import LoginAttempts
from appliance.store.mail import MailDeliveries
from appliance.store.menu import MenuLog
from appliance.store.metrics import Metrics
from appliance.store.nlp import Insights
from appliance.store.ops import Ops
from appliance.store.filters import CallFilter
from appliance.store.scopes import Scope
from appliance.store.pbx import PbxSources
from appliance.store.reviews import Reviews
from appliance.store.retention import Retention
from appliance.store.query import parse_query
from appliance.store.search import search_count_is_capped
from appliance.store.records import (
    CallSummary,
    EnqueueResult,
    Job,
    SearchHit,
)
from appliance.store.users import Users
from appliance.store.vocabulary import Vocabulary
from appliance.store.webhooks import Webhooks
from appliance.store.workers import RemoteWorkers
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
    alerts = concern(Alerts)
    audit = concern(AuditLog)
    cdr = concern(CallRecords)
    dashboard = concern(Dashboard)
    heard = concern(Heard)
    insights = concern(Insights)
    live = concern(LiveCalls)
    logins = concern(LoginAttempts)
    mail = concern(MailDeliveries)
    menu = concern(MenuLog)
    metrics = concern(Metrics)
    ops = concern(Ops)
    pbx = concern(PbxSources)
    reviews = concern(Reviews)
    retention = concern(Retention)
    saved_filters = concern(SavedFilters)
    users = concern(Users)
    vocabulary = concern(Vocabulary)
    webhooks = concern(Webhooks)
    workers = concern(RemoteWorkers)

    def __init__(self, db_path: Path | str, scope: Scope = Scope.ALL):
        self.path = Path(db_path)
        self.scope = scope
        self._db = connect(self.path)
        self._lock = threading.RLock()

    @classmethod
    def open(cls, settings: Settings, scope: Scope = Scope.ALL) -> "Store":
        # Every process of the box opens the store first: folders made or narrowed here.
        filemodes.folder(settings.db_path.parent)  # the data folder
        filemodes.narrow(settings.db_path.parent / "recordings", filemodes.FOLDER)
        return cls(settings.db_path, scope)

    def scoped(self, scope: Scope) -> "Store":
        """This store's connection, seeing only `scope`'s calls (close the original, not this)."""
        view = object.__new__(Store)
        # Not the concern objects made so far: the view makes its own, in its scope.
        view.__dict__.update(path=self.path, scope=scope, _db=self._db, _lock=self._lock)
        return view

    @_serialized
    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """The store calls inside, of any concern, as one transaction: a bulk load commits once,
        not per call."""
        with self._lock, write(self._db):
            yield

    @contextlib.contextmanager
    def query_plans(self) -> Iterator[list[QueryPlan]]:
        """SQLite's plans of the reads this store runs inside the block (bench/search.py)."""
        with self._lock, query_plans(self._db) as plans:
            yield plans

    # Intake

    @_serialized
    def enqueue_recording(
        self, meta: CallMeta, paths: Sequence[Path | str], options: dict | None = None
    ) -> EnqueueResult:
        return intake.enqueue_recording(self._db, meta, paths, options, time.time())

    @_serialized
    def enqueue_import(self, system: str, source: str, meta: CallMeta, paths: Sequence[Path | str],
                       options: dict | None = None) -> EnqueueResult:
        """enqueue_recording for a copy of another system's file, remembering `source` as imported."""
        return intake.enqueue_import(self._db, system, source, meta, paths, options, time.time())

    @_serialized
    def was_imported(self, system: str, source: str) -> bool:
        return intake.was_imported(self._db, system, source)

    @_serialized
    def known_paths(self) -> set[str]:
        return intake.known_paths(self._db)

    @_serialized
    def imported_call(self, system: str, source: str) -> int | None:
        return intake.imported_call(self._db, system, source)

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
    def store_result(self, job_id: int, transcript: Transcript) -> str:
        return jobs.store_result(self._db, job_id, transcript, time.time())

    @_serialized
    def held_job(self, job_id: int, holder: str, now: float | None = None) -> Job | None:
        return jobs.held(self._db, job_id, holder, _now(now))

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
        code: str | None = None,
        values: dict | None = None,
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
            code=code,
            values=values,
        )

    @_serialized
    def retry_job(self, job_id: int) -> None:
        jobs.retry(self._db, job_id, time.time())

    @_serialized
    def release_job(self, job_id: int, holder: str) -> bool:
        return jobs.release(self._db, job_id, holder, time.time())

    @_serialized
    def count_held_jobs(self, owner_prefix: str, now: float | None = None) -> int:
        return jobs.count_held(self._db, owner_prefix, _now(now))

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

    # Calls

    def _call_filter(self, keyword: str | None = None, **filters) -> CallFilter:
        """CallFilter's fields in this store's scope; `keyword` is what a person typed to find
        in the call's words (BadQuery where search could not use it)."""
        return CallFilter(**filters, words=parse_query(keyword) if keyword else None, scope=self.scope)

    @_serialized
    def calls(self, limit: int = 50, offset: int = 0, *, sort: str = "start", descending: bool = True,
              **filters) -> list[CallSummary]:
        """Newest call start first unless `sort` (calls.SORTS: start, duration, caller) says
        otherwise. `filters`: CallFilter's fields and `keyword`. Dates are YYYY-MM-DD, inclusive,
        days of `zone` (None: UTC), against the call's start; `number` is part of the caller's or callee's number,
        spaces and ()-/. ignored, `extension` a whole one; `state` is the latest job's;
        durations are seconds."""
        return calls.calls(self._db, limit, offset, self._call_filter(**filters), sort, descending)

    @_serialized
    def count_calls(self, **filters) -> int:
        return calls.count_calls(self._db, self._call_filter(**filters))

    @_serialized
    def call(self, call_id: int) -> CallSummary:
        """NotFound for a missing call and for one out of this store's scope alike."""
        return calls.call(self._db, call_id, self.scope)

    @_serialized
    def conversation(self, call_id: int) -> list[CallSummary]:
        """The legs of the call's conversation (its linkedid, and those an attended transfer joined
        to it) that this store's scope holds, oldest first by id."""
        self._require_visible(call_id)
        return calls.conversation(self._db, call_id, self.scope)

    @_serialized
    def visible(self, call_id: int) -> bool:
        return scopes.visible(self._db, self.scope, call_id)

    def _require_visible(self, call_id: int) -> None:
        if not scopes.visible(self._db, self.scope, call_id):
            raise NotFound(f"there is no call {call_id}")

    @_serialized
    def check_edit(self, call_id: int) -> None:
        """NotFound if the call is out of scope, NotAllowed if the scope may not edit: the first
        step of every change to a call."""
        self._require_visible(call_id)
        if not self.scope.may_edit:
            raise NotAllowed("your role does not allow changes to calls; an administrator can allow it")

    @_serialized
    def changes_since(self, ts: float, limit: int = 500) -> tuple[float, list[CallSummary]]:
        """Calls whose job moved or transcript arrived after `ts`, and the mark to pass next."""
        return calls.changes_since(self._db, ts, limit, self.scope)

    @_serialized
    def latest_change(self) -> float:
        """The feed's position for every scope: no call changed after it (mark of changes_since)."""
        return calls.latest_change(self._db)

    @_serialized
    def delete_call(self, call_id: int) -> tuple[str, ...]:
        """Delete the call and all derived from it; remove the returned files afterwards.
        LegalHold if the call is under legal hold."""
        try:
            return calls.delete_call(self._db, call_id, time.time())
        except sqlite3.IntegrityError:
            if self.retention.legal_hold(call_id):
                raise LegalHold(f"call {call_id} is under legal hold; lift the hold to delete it",
                                "legal-hold") from None
            raise

    @_serialized
    def recording_files(self, call_id: int) -> tuple[str, ...]:
        self._require_visible(call_id)
        return recordings.recording_files(self._db, call_id)

    @_serialized
    def recording_options(self, call_id: int) -> dict:
        self._require_visible(call_id)
        return recordings.recording_options(self._db, call_id)

    @_serialized
    def transcript(self, call_id: int) -> Transcript | None:
        """None for a call without a transcript, a missing one and one out of scope alike."""
        if not scopes.visible(self._db, self.scope, call_id):
            return None
        return transcripts.read_transcript(self._db, call_id)

    @_serialized
    def transcript_count(self, recording_id: int | None = None) -> int:
        return transcripts.transcript_count(self._db, recording_id)

    @_serialized
    def rename_speaker(self, call_id: int, index: int, label: str) -> None:
        self.check_edit(call_id)
        transcripts.rename_speaker(self._db, call_id, index, label)

    @_serialized
    def edit_transcript(self, call_id: int, actor: str, action: str, turn: int, *, word: int | None = None,
                        text: str | None = None, speaker: int | None = None,
                        now: float | None = None) -> edits.Revision:
        """One correction of the call's transcript (appliance/store/edits.py), as a revision."""
        self.check_edit(call_id)
        return edits.edit(self._db, call_id, actor, action, turn, _now(now), word=word, text=text, speaker=speaker)

    @_serialized
    def revisions(self, call_id: int) -> list[edits.Revision]:
        return edits.revisions(self._db, call_id) if scopes.visible(self._db, self.scope, call_id) else []

    @_serialized
    def original_turns(self, call_id: int):
        """The turns as transcribed, if people corrected the transcript since; else None."""
        return edits.original_turns(self._db, call_id) if scopes.visible(self._db, self.scope, call_id) else None

    # The address book (appliance/store/contacts.py)

    @_serialized
    def save_contacts(self, entries: list[tuple[str, str]], source: str = "manual", now: float | None = None) -> int:
        """Name numbers ((number, name) each) on every call of theirs. It reaches calls beyond any
        one user's scope: NotAllowed unless this store sees every call and may edit."""
        if not (self.scope.everything and self.scope.may_edit):
            raise NotAllowed("only users who see and may edit every call can name a number for all its calls")
        return contacts.save(self._db, list(entries), source, _now(now))

    @_serialized
    def delete_contact(self, digits: str) -> bool:
        return contacts.delete(self._db, digits)

    @_serialized
    def contacts(self) -> list[contacts.Contact]:
        return contacts.contacts(self._db)

    @_serialized
    def contact_names(self, numbers: Iterable[str | None]) -> dict[str, str]:
        return contacts.names(self._db, list(numbers))

    # Search

    @_serialized
    def search(
        self,
        query: str,
        limit: int = 20,
        *,
        offset: int = 0,
        role: str | None = None,
        date_from: str | None = None,
        date_to: str | None = None,
        number: str | None = None,
        zone: tzinfo | None = None,
    ) -> list[SearchHit]:
        """One hit per matching turn; filters as in calls(). bm25 ranks the newest
        search.WINDOW (2 000) hits, best first; older hits follow them, newest first."""
        where = CallFilter(date_from, date_to, number, scope=self.scope, zone=zone)
        return search.search(self._db, query, limit, offset, role, where)

    @_serialized
    def count_search(
        self,
        query: str,
        *,
        role: str | None = None,
        date_from: str | None = None,
        date_to: str | None = None,
        number: str | None = None,
        zone: tzinfo | None = None,
    ) -> int:
        """Matching turns: exact up to search.SEARCH_COUNT_CAP (10 000); beyond that it stops
        counting and returns SEARCH_COUNT_CAP + 1, for which search_count_is_capped() is true
        ("more than 10 000")."""
        where = CallFilter(date_from, date_to, number, scope=self.scope, zone=zone)
        return search.count_search(self._db, query, role, where)

    search_count_is_capped = staticmethod(search_count_is_capped)

    @_serialized
    def suggestion(self, query: str) -> str | None:
        """The query with its words no transcript holds replaced by the closest ones that some
        transcript does (of any call: check the scope's hits before offering it)."""
        return search.suggestion(self._db, query)
