"""Who sees which call: each user's scope, applied inside the store's own queries.

Roles (users.role) and what they see:
  admin         every call; the admin pages; may edit.
  supervisor    the calls of their own entries and of every user who shares a group with them.
  agent, receptionist, viewer
                the calls of their own entries only.

Entries (table user_scopes), any number per user:
  extension E   calls and voice notes with E as caller or callee (not voicemails: see mailbox).
  number N      calls, voicemails and notes with N as caller or callee (a DID, a customer).
  mailbox M     voicemails left in mailbox M, voice notes dictated at M (as mail and retention
                see their owner).
  group G       member of team G; a supervisor of G sees the extension, number and mailbox
                entries of every member of G.
  all           every call, without the admin pages (a data-protection officer, a lead).
Numbers, extensions and mailboxes compare whole, with " -()/." ignored ("+49 30 123" = "+4930123").
A user without entries sees no call. Edits (speaker renames, transcript edits) need the user's
edit permission (users.may_edit; admins always have it) on a call in their scope.

The API, small on purpose:
  Scope                  frozen: everything, extensions, numbers, mailboxes, may_edit.
  Scope.ALL / Scope.NONE every call (the worker, CLI, trusted processes) / no call (no user).
  scope.where("c")       (SQL conditions, named params) on a `calls` row aliased c: append them
                         to a query's WHERE. [] for ALL; a false condition for an empty scope.
  scope.live_where("l")  the same for a `live_calls` row.
  Store(path, scope=...) / store.scoped(scope)
                         a store whose call reads see that scope only: calls, counts, call,
                         transcript, audio files, search hits and counts, insights, changes,
                         live calls. An out-of-scope call is NotFound, as a missing one is, so the
                         web answers 404 and existence does not leak.
  store.scope_for(user)  a user's Scope: role, entries and groups resolved.
  store.visible(call_id) whether the store's scope holds the call.
  store.check_edit(call_id)
                         NotFound out of scope, NotAllowed without the edit permission: the first
                         line of every store method that changes a call.
  appliance.web.get_store()            the store scoped to the logged-in user.
  appliance.web.auth.can_edit(user, call)   True if that user may change that call (views, and
                         the templates' `can_edit(call)`).
A new store method that reads calls passes self.scope to its query and adds scope.where();
tests/test_scopes.py walks every route of the web app as a scoped user, so a route that
forgets shows up there.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from sqlite_utils import Database

from appliance.errors import BadScope
from appliance.store.db import first
from appliance.store.filters import number_digits
from appliance.store.schema import digits_sql

KINDS = ("extension", "number", "mailbox", "group", "all")
PARTIES = ("extension", "number", "mailbox")  # the kinds that name calls (group names people)
_MAX_VALUE = 64


@dataclass(frozen=True)
class ScopeEntry:
    kind: str  # one of KINDS
    value: str  # digits for extension/number/mailbox, the team's name for group, "" for all


@dataclass(frozen=True)
class Scope:
    everything: bool = False
    extensions: frozenset[str] = frozenset()
    numbers: frozenset[str] = frozenset()
    mailboxes: frozenset[str] = frozenset()
    may_edit: bool = False

    @property
    def empty(self) -> bool:
        return not (self.everything or self.extensions or self.numbers or self.mailboxes)

    def where(self, alias: str = "c") -> tuple[list[str], dict]:
        if self.everything:
            return [], {}
        c, params, parts = alias, {}, []

        def listed(name: str, values: frozenset[str]) -> str:
            params[f"scope_{name}"] = json.dumps(sorted(values))
            return f"(SELECT value FROM json_each(:scope_{name}))"

        if self.extensions:
            ext = listed("extensions", self.extensions)
            parts.append(f"({c}.kind <> 'voicemail' AND ({c}.caller_digits IN {ext} OR {c}.callee_digits IN {ext}))")
        if self.numbers:
            num = listed("numbers", self.numbers)
            parts.append(f"{c}.caller_digits IN {num} OR {c}.callee_digits IN {num}")
        if self.mailboxes:
            box = listed("mailboxes", self.mailboxes)
            parts.append(f"({c}.kind = 'voicemail' AND {c}.callee_digits IN {box})"
                         f" OR ({c}.kind = 'note' AND {c}.caller_digits IN {box})")
        return [f"({' OR '.join(parts)})" if parts else "0"], params

    def live_where(self, alias: str = "l") -> tuple[list[str], dict]:
        """Calls in progress: no voicemail or note among them, and no digits columns."""
        if self.everything:
            return [], {}
        parties = self.extensions | self.numbers
        if not parties:
            return ["0"], {}
        listed = "(SELECT value FROM json_each(:scope_parties))"
        caller, callee = digits_sql(f"{alias}.caller"), digits_sql(f"{alias}.callee")
        return [f"({caller} IN {listed} OR {callee} IN {listed})"], {"scope_parties": json.dumps(sorted(parties))}


Scope.ALL = Scope(everything=True, may_edit=True)
Scope.NONE = Scope()


def entry(kind: str, value: str = "") -> ScopeEntry:
    """An entry as stored: numbers without punctuation, a group's name with single spaces.
    BadScope (a ValueError) for an unknown kind or a value that is empty, too long or has control chars."""
    if kind not in KINDS:
        raise BadScope(f"a scope entry is one of {', '.join(KINDS)}, got {kind!r}", "scope-kind", kind=kind)
    if kind == "all":
        return ScopeEntry("all", "")
    value = " ".join(value.split()) if kind == "group" else number_digits(value.strip())
    if not value or len(value) > _MAX_VALUE or not value.isprintable():
        raise BadScope(f"a {kind} needs 1 to {_MAX_VALUE} printable characters, got {value!r}", "scope-value",
                       kind=kind, most=_MAX_VALUE)
    return ScopeEntry(kind, value)


# German names of the kinds, as an admin on the German users page types them.
_KIND_ALIASES = {"nebenstelle": "extension", "nummer": "number", "rufnummer": "number", "postfach": "mailbox",
                 "gruppe": "group", "team": "group", "alle": "all"}


def parse_entries(text: str) -> list[ScopeEntry]:
    """Entries written as "KIND:VALUE" (or "all"), separated by commas or new lines:
    "extension:201, mailbox:1000, group:Team A". BadScope names the first bad one."""
    made = []
    for item in filter(None, (part.strip() for part in re.split(r"[,\n]", text))):
        kind, _, value = item.partition(":")
        kind = kind.strip().casefold()
        made.append(entry(_KIND_ALIASES.get(kind, kind), value))
    return made


def describe(scope_entries: list[ScopeEntry]) -> str:
    """The entries as parse_entries reads them back."""
    return ", ".join(f"{e.kind}:{e.value}" if e.value else e.kind for e in scope_entries)


def visible(db: Database, scope: Scope, call_id: int) -> bool:
    conditions, params = scope.where("c")
    sql = " AND ".join(["c.id = :call_id", *conditions])
    return first(db.query(f"SELECT 1 FROM calls c WHERE {sql}", {**params, "call_id": call_id})) is not None


def visible_ids(db: Database, scope: Scope, call_ids: list[int]) -> list[int]:
    """Those of these calls the scope holds, in the order given."""
    if scope.everything or not call_ids:
        return list(call_ids)
    conditions, params = scope.where("c")
    held = {row["id"] for row in db.query(
        "SELECT c.id FROM calls c WHERE c.id IN (SELECT value FROM json_each(:ids)) AND " + " AND ".join(conditions),
        {**params, "ids": json.dumps(list(call_ids))})}
    return [call_id for call_id in call_ids if call_id in held]
