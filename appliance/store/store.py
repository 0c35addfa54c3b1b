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
    dashboard,
    edits,
    intake,
    jobs,
    live,
    metrics,
    nlp,
    ops,
    recordings,
    retention,
    scopes,
    search,
    transcripts,
    users,
    webhooks,
)
from appliance import filemodes
from appliance.errors import LegalHold, NotAllowed, NotFound
from appliance.store.audit import AuditLog
from appliance.store.cdr import CallRecords
from appliance.store.concern import concern
from appliance.store.db import QueryPlan, connect, query_plans, write
from appliance.store.heard import Heard
from appliance.store.logins import LoginAttempts
from appliance.store.mail import MailDeliveries
from appliance.store.menu import MenuLog
from appliance.store.filters import CallFilter
from appliance.store.scopes import Scope, ScopeEntry
from appliance.store.pbx import PbxSources
from appliance.store.reviews import Reviews
from appliance.store.query import parse_query
from appliance.store.search import search_count_is_capped
from appliance.store.records import (
    ApiToken,
    CallSummary,
    EnqueueResult,
    Job,
    SearchHit,
    User,
)
from appliance.store.vocabulary import Vocabulary
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
    audit = concern(AuditLog)
    cdr = concern(CallRecords)
    heard = concern(Heard)
    logins = concern(LoginAttempts)
    mail = concern(MailDeliveries)
    menu = concern(MenuLog)
    pbx = concern(PbxSources)
    reviews = concern(Reviews)
    vocabulary = concern(Vocabulary)
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
        """The legs sharing the call's linkedid that this store's scope holds, oldest first by id."""
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
            if retention.legal_hold(self._db, call_id):
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

    # Users and API tokens

    @_serialized
    def add_user(
        self, username: str, password_hash: str, role: str, locale: str = "en", temporary: bool = False
    ) -> User:
        """`temporary`: a password made for the user, who must choose their own at first login."""
        return users.add_user(self._db, username, password_hash, role, locale, time.time(), temporary)

    @_serialized
    def user(self, user_id: int) -> User:
        return users.user(self._db, user_id)

    @_serialized
    def user_by_name(self, username: str) -> User | None:
        return users.user_by_name(self._db, username)

    @_serialized
    def users(self) -> list[User]:
        return users.users(self._db)

    @_serialized
    def set_password(self, user_id: int, password_hash: str, temporary: bool = False) -> None:
        """Ends the user's sessions and revokes their tokens; `temporary`: set by an admin."""
        users.set_password(self._db, user_id, password_hash, temporary)

    @_serialized
    def note_login(self, user_id: int, now: float | None = None) -> None:
        users.note_login(self._db, user_id, _now(now))

    @_serialized
    def delete_user(self, user_id: int) -> None:
        """LastAdmin for the last administrator; their audit entries stay."""
        users.delete_user(self._db, user_id)

    @_serialized
    def end_sessions(self, user_id: int) -> None:
        users.end_sessions(self._db, user_id)

    @_serialized
    def set_role(self, user_id: int, role: str) -> None:
        users.set_role(self._db, user_id, role)

    @_serialized
    def set_locale(self, user_id: int, locale: str) -> None:
        users.set_locale(self._db, user_id, locale)

    @_serialized
    def set_timezone(self, user_id: int, zone: str | None) -> None:
        """The user's own time zone (an IANA name); None: the site's."""
        users.set_timezone(self._db, user_id, zone)

    @_serialized
    def set_disabled(self, user_id: int, disabled: bool) -> None:
        users.set_disabled(self._db, user_id, disabled)

    @_serialized
    def set_may_edit(self, user_id: int, may_edit: bool) -> None:
        users.set_may_edit(self._db, user_id, may_edit)

    @_serialized
    def scope_entries(self, user_id: int) -> list[ScopeEntry]:
        return scopes.entries(self._db, user_id)

    @_serialized
    def set_scope_entries(self, user_id: int, entries: Iterable[ScopeEntry]) -> None:
        """Replace the user's scope entries (made with scopes.entry())."""
        scopes.set_entries(self._db, user_id, list(entries))

    @_serialized
    def scope_for(self, user: User) -> Scope:
        return scopes.scope_for(self._db, user)

    @_serialized
    def count_admins(self) -> int:
        return users.count_admins(self._db)

    @_serialized
    def add_api_token(self, user_id: int, name: str, token_hash: str, days: float = 90) -> ApiToken:
        """A read-only API token that expires `days` from now."""
        now = time.time()
        return users.add_api_token(self._db, user_id, name, token_hash, now, now + days * 86400)

    @_serialized
    def user_by_token_hash(self, token_hash: str, now: float | None = None) -> User | None:
        return users.user_by_token_hash(self._db, token_hash, _now(now))

    @_serialized
    def api_tokens(self, user_id: int) -> list[ApiToken]:
        return users.api_tokens(self._db, user_id)

    @_serialized
    def revoke_api_token(self, user_id: int, token_id: int) -> None:
        users.revoke_api_token(self._db, user_id, token_id)

    # Retention, legal hold, erasure and the box's health (appliance.ops)

    @_serialized
    def retention_policies(self) -> list[retention.RetentionPolicy]:
        return retention.policies(self._db)

    @_serialized
    def add_retention_policy(self, policy: retention.RetentionPolicy) -> int:
        return retention.add_policy(self._db, policy, time.time())

    @_serialized
    def delete_retention_policy(self, policy_id: int) -> None:
        retention.delete_policy(self._db, policy_id)

    @_serialized
    def set_legal_hold(self, call_id: int, hold: bool) -> None:
        retention.set_legal_hold(self._db, call_id, hold)

    @_serialized
    def legal_hold(self, call_id: int) -> bool:
        return retention.legal_hold(self._db, call_id)

    @_serialized
    def held_calls(self) -> list[int]:
        return retention.held_calls(self._db)

    @_serialized
    def aged_calls(self, started_before: float, after_id: int = 0, limit: int = 500) -> list[retention.AgedCall]:
        return retention.aged_calls(self._db, started_before, after_id, limit)

    @_serialized
    def delete_audio(self, call_id: int, actor: str | None, detail: str, now: float | None = None) -> tuple[str, ...]:
        """Remove the audio of the call's transcribed recordings (the text stays), audited;
        remove the returned files afterwards."""
        return retention.delete_audio(self._db, call_id, actor, detail, _now(now))

    @_serialized
    def audio_deleted(self, call_id: int) -> bool:
        return retention.audio_deleted(self._db, call_id)

    @_serialized
    def set_ops_state(self, key: str, value, now: float | None = None) -> None:
        ops.set_state(self._db, key, value, _now(now))

    @_serialized
    def ops_state(self, key: str) -> tuple[object, float] | None:
        return ops.state(self._db, key)

    @_serialized
    def clear_ops_state(self, key: str) -> None:
        ops.clear_state(self._db, key)

    @_serialized
    def oldest_queued(self) -> float | None:
        return ops.oldest_queued(self._db)

    @_serialized
    def matching_numbers(self, number: str) -> list[str]:
        return ops.matching_numbers(self._db, number)

    @_serialized
    def calls_with_numbers(self, numbers: list[str]) -> set[int]:
        return ops.calls_with_numbers(self._db, numbers)

    @_serialized
    def calls_with_words(self, query: str) -> set[int]:
        return ops.calls_with_words(self._db, query)

    @_serialized
    def forget_numbers(self, numbers: list[str]) -> int:
        return ops.forget_numbers(self._db, numbers)

    @_serialized
    def forget_live_drafts(self, numbers: list[str], uniqueids: list[str], words: list[str]) -> int:
        return ops.forget_live_drafts(self._db, numbers, uniqueids, words)

    @_serialized
    def compact(self) -> bool:
        return ops.compact(self._db)

    # Live transcription (appliance/store/live.py)

    @_serialized
    def live_start(self, uniqueid: str, *, caller: str | None, callee: str | None,
                   direction: str | None, state: str = "live", reason: str | None = None) -> int:
        return live.start(self._db, uniqueid, caller, callee, direction, state, reason, time.time())

    @_serialized
    def live_event(self, live_call_id: int, role: str, *, final: bool, text: str,
                   start: float | None = None, end: float | None = None) -> int:
        return live.add_event(self._db, live_call_id, role, final, text, start, end, time.time())

    @_serialized
    def live_touch(self, live_call_ids: list[int]) -> None:
        live.touch(self._db, live_call_ids, time.time())

    @_serialized
    def live_end(self, live_call_id: int) -> None:
        live.end(self._db, live_call_id, time.time())

    @_serialized
    def live_call(self, live_call_id: int) -> "live.LiveCall | None":
        return live.call(self._db, live_call_id, self.scope)

    @_serialized
    def live_in_progress(self, seen_within: float) -> "list[live.LiveCall]":
        return live.in_progress(self._db, time.time() - seen_within, self.scope)

    @_serialized
    def live_events_since(self, live_call_id: int, after_id: int) -> "list[live.LiveEvent]":
        if live.call(self._db, live_call_id, self.scope) is None:
            return []
        return live.events_since(self._db, live_call_id, after_id)

    @_serialized
    def live_prune(self, replaced_seconds: float, keep_seconds: float) -> int:
        return live.prune(self._db, time.time() - replaced_seconds, time.time() - keep_seconds)

    @_serialized
    def backup_to(self, target: Path | str) -> None:
        ops.backup_to(self._db, str(target))

    @_serialized
    def restore_from(self, source: Path | str) -> None:
        ops.restore_from(self._db, str(source))

    @_serialized
    def recording_paths(self) -> list[str]:
        return ops.recording_paths(self._db)

    @_serialized
    def held_leases(self, now: float | None = None) -> int:
        return ops.held_leases(self._db, _now(now))

    @_serialized
    def call_total(self) -> int:
        return ops.call_count(self._db)

    # Conversation metrics (appliance.analytics) and the dashboard over them

    @_serialized
    def dashboard_days(self, *, date_from: str | None = None, date_to: str | None = None, number: str | None = None,
                       kind: str | None = None, zone: tzinfo | None = None) -> list[dashboard.DayFigures]:
        """Figures per day of `zone` of the calls the call list would show for these filters."""
        return dashboard.days(self._db, CallFilter(date_from, date_to, number, None, kind, self.scope, zone=zone))

    @_serialized
    def dashboard_extensions(self, *, date_from: str | None = None, date_to: str | None = None,
                             number: str | None = None, kind: str | None = None,
                             zone: tzinfo | None = None) -> list[dashboard.ExtensionFigures]:
        """Figures per extension (the appliance's side of each call) of those same calls."""
        return dashboard.extensions(self._db, CallFilter(date_from, date_to, number, None, kind, self.scope,
                                                         zone=zone))

    @_serialized
    def calls_needing_metrics(self, limit: int = 20) -> list[tuple[int, int]]:
        return metrics.calls_needing_metrics(self._db, limit)

    @_serialized
    def save_metrics(self, call_id: int, transcript_id: int, data: dict, error: str | None = None,
                     now: float | None = None) -> None:
        """Store a call's metrics (CallMetrics.to_dict()) for that transcript."""
        metrics.save_metrics(self._db, call_id, transcript_id, data, error, _now(now))

    @_serialized
    def metrics(self, call_ids: Iterable[int]) -> dict[int, dict]:
        return metrics.metrics(self._db, scopes.visible_ids(self._db, self.scope, list(call_ids)))

    # Call insights (appliance.nlp) and CRM webhooks

    @_serialized
    def calls_needing_insights(self, limit: int = 20) -> list[tuple[int, int]]:
        return nlp.calls_needing_insights(self._db, limit)

    @_serialized
    def save_insights(self, call_id: int, transcript_id: int, data: dict, error: str | None = None,
                      now: float | None = None) -> int:
        """Store insights (Insights.to_dict()) and queue the call for enabled webhooks."""
        return nlp.save_insights(self._db, call_id, transcript_id, data, error, _now(now))

    @_serialized
    def insights(self, call_ids: Iterable[int]) -> dict[int, dict]:
        return nlp.insights(self._db, scopes.visible_ids(self._db, self.scope, list(call_ids)))

    @_serialized
    def search_insights(self, query: str, limit: int = 20) -> list[int]:
        return nlp.search_insights(self._db, query, limit, self.scope)

    @_serialized
    def webhooks(self) -> list[webhooks.Webhook]:
        return webhooks.webhooks(self._db)

    @_serialized
    def webhook(self, webhook_id: int) -> webhooks.Webhook:
        return webhooks.webhook(self._db, webhook_id)

    @_serialized
    def save_webhook(self, webhook_id: int | None, name: str, url: str, secret: str,
                     fields: Sequence[str], enabled: bool) -> int:
        return webhooks.save_webhook(self._db, webhook_id, name, url, secret, tuple(fields), enabled, time.time())

    @_serialized
    def delete_webhook(self, webhook_id: int) -> None:
        webhooks.delete_webhook(self._db, webhook_id)

    @_serialized
    def add_test_delivery(self, webhook_id: int, now: float | None = None) -> int:
        return webhooks.add_test_delivery(self._db, webhook_id, _now(now))

    @_serialized
    def due_deliveries(self, now: float | None = None, limit: int = 20) -> list[webhooks.Delivery]:
        return webhooks.due_deliveries(self._db, _now(now), limit)

    @_serialized
    def delivery(self, delivery_id: int) -> webhooks.Delivery:
        return webhooks.delivery(self._db, delivery_id)

    @_serialized
    def deliveries(self, limit: int = 100, webhook_id: int | None = None,
                   call_id: int | None = None) -> list[webhooks.Delivery]:
        return webhooks.deliveries(self._db, limit, webhook_id, call_id)

    @_serialized
    def record_delivery_attempt(self, delivery_id: int, state: str, status: int | None = None,
                                error: str | None = None, next_attempt_at: float = 0.0,
                                now: float | None = None) -> None:
        webhooks.record_attempt(self._db, delivery_id, state, status, error, next_attempt_at, _now(now))
