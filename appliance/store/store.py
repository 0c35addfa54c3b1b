"""`Store`: the one object the rest of the appliance uses to reach the database.

A Store holds one connection; a lock serializes its use, so one Store may be shared by threads
(a worker's heartbeat thread, web requests). Processes each open their own.

Its operations are grouped by concern, one attribute each: `store.jobs.claim(...)`,
`store.users.add(...)`, `store.calls.page(...)`. Each is an object of the Concern class its
module defines (appliance/store/concern.py), sharing the store's connection, lock and scope;
each of its methods is one transaction or one read. A new query goes into its concern's class,
as a method; a new concern is a module with a Concern subclass and one line below.

A Store sees the calls of its scope (appliance/store/scopes.py): every call, unless opened with
a user's scope or made with scoped(); the web's is always the logged-in user's.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path

from appliance import filemodes
from appliance.config import Settings
from appliance.store.alert_mail import AlertMails
from appliance.store.alerts import Alerts
from appliance.store.audit import AuditLog
from appliance.store.calls import Calls
from appliance.store.cdr import CallRecords
from appliance.store.concern import concern
from appliance.store.contacts import Contacts
from appliance.store.dashboard import Dashboard
from appliance.store.db import QueryPlan, connect, query_plans, write
from appliance.store.edits import Edits
from appliance.store.heard import Heard
from appliance.store.intake import Intake
from appliance.store.jobs import Jobs
from appliance.store.live import LiveCalls
from appliance.store.logins import LoginAttempts
from appliance.store.mail import MailDeliveries
from appliance.store.menu import MenuLog
from appliance.store.metrics import Metrics
from appliance.store.nlp import Insights
from appliance.store.ops import Ops
from appliance.store.pbx import PbxSources
from appliance.store.recordings import Recordings
from appliance.store.retention import Retention
from appliance.store.saved import SavedFilters
from appliance.store.reviews import Reviews
from appliance.store.scopes import Scope
from appliance.store.search import Search
from appliance.store.transcripts import Transcripts
from appliance.store.users import Users
from appliance.store.vocabulary import Vocabulary
from appliance.store.webhooks import Webhooks
from appliance.store.workers import RemoteWorkers


class Store:
    alert_mail = concern(AlertMails)
    alerts = concern(Alerts)
    audit = concern(AuditLog)
    calls = concern(Calls)
    cdr = concern(CallRecords)
    contacts = concern(Contacts)
    dashboard = concern(Dashboard)
    edits = concern(Edits)
    heard = concern(Heard)
    insights = concern(Insights)
    intake = concern(Intake)
    jobs = concern(Jobs)
    live = concern(LiveCalls)
    logins = concern(LoginAttempts)
    mail = concern(MailDeliveries)
    menu = concern(MenuLog)
    metrics = concern(Metrics)
    ops = concern(Ops)
    pbx = concern(PbxSources)
    recordings = concern(Recordings)
    retention = concern(Retention)
    reviews = concern(Reviews)
    saved_filters = concern(SavedFilters)
    search = concern(Search)
    transcripts = concern(Transcripts)
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

    def close(self) -> None:
        with self._lock:
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
