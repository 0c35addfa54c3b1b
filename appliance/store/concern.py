"""What the Store's concern objects (`store.jobs`, `store.users`, ...) share.

Each concern module (jobs.py, users.py, ...) defines its operations once, as the methods of a
`Concern` subclass, where their SQL is. The Store makes one object per concern, all holding its
one connection, lock and scope. Every public method is one transaction or one read and runs
under the lock: the class wraps them when it is defined, so no method can forget it.
"""

from __future__ import annotations

import functools
import inspect
import threading
import time

from sqlite_utils import Database

from appliance.errors import NotAllowed, NotFound
from appliance.store import scopes
from appliance.store.scopes import Scope


def _serialized(method):
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with self._lock:
            return method(self, *args, **kwargs)

    return wrapper


def clock(now: float | None) -> float:
    """`now` where a caller (a test, a replay) names the moment, else the time."""
    return time.time() if now is None else now


class Concern:
    def __init__(self, db: Database, lock: threading.RLock, scope: Scope):
        self._db = db
        self._lock = lock
        self.scope = scope

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for name, value in list(vars(cls).items()):
            # Context managers take the lock themselves, for the whole block.
            if not name.startswith("_") and inspect.isfunction(value) and not inspect.isgeneratorfunction(
                    getattr(value, "__wrapped__", value)):
                setattr(cls, name, _serialized(value))

    def _require_visible(self, call_id: int) -> None:
        """NotFound for a call out of this scope, as for a missing one."""
        if not scopes.visible(self._db, self.scope, call_id):
            raise NotFound(f"there is no call {call_id}")

    def _require_edit(self, call_id: int) -> None:
        """NotFound if the call is out of scope, NotAllowed if the scope may not edit: the first
        step of every change to a call."""
        self._require_visible(call_id)
        if not self.scope.may_edit:
            raise NotAllowed("your role does not allow changes to calls; an administrator can allow it")


class concern:
    """A Store attribute giving the store's object of a Concern class, made at first use."""

    def __init__(self, cls: type[Concern]):
        self.cls = cls

    def __set_name__(self, owner, name: str) -> None:
        self.name = name

    def __get__(self, store, owner=None):
        if store is None:  # Store.search: the class (its constants, its static helpers)
            return self.cls
        # Kept in the instance, which then answers without this descriptor.
        bound = store.__dict__[self.name] = self.cls(store._db, store._lock, store.scope)
        return bound
