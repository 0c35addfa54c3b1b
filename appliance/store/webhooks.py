"""CRM webhooks: the admin's endpoints and one delivery row per (webhook, call, event).

A delivery is queued in the transaction that stores the call's insights (nlp.save_insights),
is attempted by the scheduler when due, and keeps its attempts, last HTTP status and error,
and a note on the answer of a name-source webhook (appliance/webhooks/answers.py): that row is
the delivery log the admin sees.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlite_utils import Database

from appliance.errors import NotFound
from appliance.store.concern import Concern, clock
from appliance.store.db import write
from appliance.store.names import visible

DELIVERY_STATES = ("pending", "sent", "failed")


@dataclass(frozen=True)
class Webhook:
    id: int
    name: str
    url: str
    secret: str
    fields: tuple[str, ...]
    enabled: bool
    created_at: float
    name_source: bool = False  # its answers name numbers in the address book


@dataclass(frozen=True)
class Note:
    """What came of an answer: English `text`, and its case (`code`, `values`) for other languages."""

    text: str
    code: str
    values: dict


@dataclass(frozen=True)
class Delivery:
    id: int
    webhook_id: int
    webhook_name: str
    call_id: int | None  # None for the admin's test
    event: str  # "call.done", "phrase.alert" or "test"
    state: str  # one of DELIVERY_STATES
    attempts: int
    last_status: int | None  # the endpoint's HTTP status
    last_error: str | None
    next_attempt_at: float
    created_at: float
    updated_at: float
    note: str | None = None  # on the answer, in English
    note_code: str | None = None
    note_values: dict = field(default_factory=dict)


def _webhook(row) -> Webhook:
    return Webhook(row[0], row[1], row[2], row[3], tuple(json.loads(row[4])), bool(row[5]), row[6], bool(row[7]))


def _delivery(row) -> Delivery:
    return Delivery(*row[:-1], note_values=json.loads(row[-1] or "{}"))


_WEBHOOK = "SELECT id, name, url, secret, fields, enabled, created_at, name_source FROM webhooks"

_DELIVERY = """SELECT d.id, d.webhook_id, w.name, d.call_id, d.event, d.state, d.attempts, d.last_status,
  d.last_error, d.next_attempt_at, d.created_at, d.updated_at, d.note, d.note_code, d.note_values
FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id"""


class Webhooks(Concern):
    def all(self) -> list[Webhook]:
        return [_webhook(row) for row in self._db.execute(_WEBHOOK + " ORDER BY id")]

    def get(self, webhook_id: int) -> Webhook:
        row = self._db.execute(_WEBHOOK + " WHERE id = ?", [webhook_id]).fetchone()
        if row is None:
            raise NotFound(f"there is no webhook {webhook_id}")
        return _webhook(row)

    def save(self, webhook_id: int | None, name: str, url: str, secret: str, fields: Sequence[str],
             enabled: bool, name_source: bool = False) -> int:
        now = time.time()
        name = visible(name) or url
        values = [name, url, secret, json.dumps(list(fields)), int(enabled), int(name_source)]
        with write(self._db):
            if webhook_id is None:
                return self._db.execute(
                    "INSERT INTO webhooks (name, url, secret, fields, enabled, name_source, created_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)", [*values, now],
                ).lastrowid
            changed = self._db.execute(
                "UPDATE webhooks SET name = ?, url = ?, secret = ?, fields = ?, enabled = ?, name_source = ?"
                " WHERE id = ?", [*values, webhook_id],
            ).rowcount
            if not changed:
                raise NotFound(f"there is no webhook {webhook_id}")
            return webhook_id

    def delete(self, webhook_id: int) -> None:
        with write(self._db):
            self._db.execute("DELETE FROM webhooks WHERE id = ?", [webhook_id])

    def add_test_delivery(self, webhook_id: int, now: float | None = None) -> int:
        now = clock(now)
        with write(self._db):
            return self._db.execute(
                """INSERT INTO webhook_deliveries
                (webhook_id, call_id, event, state, attempts, next_attempt_at, created_at, updated_at)
                VALUES (?, NULL, 'test', 'pending', 0, ?, ?, ?)""",
                [webhook_id, now, now, now],
            ).lastrowid

    def due_deliveries(self, now: float | None = None, limit: int = 20) -> list[Delivery]:
        rows = self._db.execute(
            _DELIVERY + " WHERE d.state = 'pending' AND d.next_attempt_at <= ? AND d.event != 'test'"
            " ORDER BY d.next_attempt_at, d.id LIMIT ?",
            [clock(now), limit],
        )
        return [_delivery(row) for row in rows]

    def delivery(self, delivery_id: int) -> Delivery:
        row = self._db.execute(_DELIVERY + " WHERE d.id = ?", [delivery_id]).fetchone()
        if row is None:
            raise NotFound(f"there is no webhook delivery {delivery_id}")
        return _delivery(row)

    def deliveries(self, limit: int = 100, webhook_id: int | None = None, call_id: int | None = None) -> list[Delivery]:
        """The delivery log, newest change first."""
        rows = self._db.execute(
            _DELIVERY + " WHERE (:webhook IS NULL OR d.webhook_id = :webhook)"
            " AND (:call IS NULL OR d.call_id = :call) ORDER BY d.updated_at DESC, d.id DESC LIMIT :limit",
            {"webhook": webhook_id, "call": call_id, "limit": limit},
        )
        return [_delivery(row) for row in rows]

    def record_attempt(self, delivery_id: int, state: str, status: int | None = None, error: str | None = None,
                       next_attempt_at: float = 0.0, now: float | None = None, note: Note | None = None) -> None:
        with write(self._db):
            self._db.execute(
                """UPDATE webhook_deliveries SET state = ?, attempts = attempts + 1, last_status = ?,
                  last_error = ?, next_attempt_at = ?, updated_at = ?, note = ?, note_code = ?, note_values = ?
                WHERE id = ?""",
                [state, status, error, next_attempt_at, clock(now), note and note.text, note and note.code,
                 json.dumps(note.values) if note else None, delivery_id],
            )


def queue_call(db: Database, call_id: int, now: float, event: str = "call.done", wanting: str | None = None) -> int:
    """Queue the call's `event` for every enabled webhook (only those whose fields include
    `wanting`, if given: "alerts" is how a webhook opts in to phrase alerts); once per webhook,
    call and event. The caller holds the write transaction."""
    return db.execute(
        """INSERT OR IGNORE INTO webhook_deliveries
        (webhook_id, call_id, event, state, attempts, next_attempt_at, created_at, updated_at)
        SELECT id, :call_id, :event, 'pending', 0, :now, :now, :now FROM webhooks WHERE enabled
        AND (:wanting IS NULL OR EXISTS (SELECT 1 FROM json_each(fields) WHERE value = :wanting))""",
        {"call_id": call_id, "event": event, "now": now, "wanting": wanting},
    ).rowcount



