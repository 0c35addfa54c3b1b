"""Phrase alerts by mail: one delivery per call and recipient, queued by store.alerts when a
call first says a phrase whose rule names that recipient, and sent (retried with back-off,
failed after the last attempt) by appliance/mail/alerts.py. The key is (call, recipient), so a
correction that finds the phrase again, or a second phrase for the same person, mails no
second time; a phrase for another person does mail that person."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlite_utils import Database

from appliance.store.concern import Concern, clock
from appliance.store.db import write


@dataclass(frozen=True)
class AlertMail:
    call_id: int
    recipient: str
    state: str  # pending, sent, failed, skipped (the phrase was corrected away before it went)
    attempts: int
    last_error: str | None
    next_attempt_at: float


_COLUMNS = "call_id, recipient, state, attempts, last_error, next_attempt_at"


def queue(db: Database, call_id: int, rule_ids, now: float) -> int:
    """Queue a mail to each recipient of these rules (the notifying ones) that the call has not
    mailed yet; the caller holds the write transaction. Returns how many were queued."""
    return db.execute(
        """INSERT OR IGNORE INTO alert_mails (call_id, recipient, state, attempts, next_attempt_at, created_at)
        SELECT DISTINCT :call_id, m.value, 'pending', 0, :now, :now FROM phrase_rules r, json_each(r.mail_to) m
        WHERE r.notify AND r.id IN (SELECT value FROM json_each(:rules))""",
        {"call_id": call_id, "now": now, "rules": json.dumps(sorted(rule_ids))},
    ).rowcount


class AlertMails(Concern):
    """`store.alert_mail`."""

    def due(self, now: float | None = None, limit: int = 20) -> list[AlertMail]:
        return [AlertMail(*row) for row in self._db.execute(
            f"SELECT {_COLUMNS} FROM alert_mails WHERE state = 'pending' AND next_attempt_at <= ?"
            " ORDER BY next_attempt_at, call_id LIMIT ?", [clock(now), limit])]

    def record(self, call_id: int, recipient: str, state: str, error: str | None = None,
               next_attempt_at: float = 0.0, now: float | None = None) -> None:
        now = clock(now)
        with write(self._db):
            self._db.execute(
                "UPDATE alert_mails SET state = ?, attempts = attempts + 1, last_error = ?, next_attempt_at = ?,"
                " sent_at = ? WHERE call_id = ? AND recipient = ?",
                [state, error, next_attempt_at, now if state == "sent" else None, call_id, recipient])

    def of_call(self, call_id: int) -> list[AlertMail]:
        """The call's alert mails (NotFound out of scope)."""
        self._require_visible(call_id)
        return [AlertMail(*row) for row in self._db.execute(
            f"SELECT {_COLUMNS} FROM alert_mails WHERE call_id = ? ORDER BY recipient", [call_id])]

    def undelivered(self, limit: int = 50) -> list[AlertMail]:
        """Mails that failed for good, or whose last attempt failed: the admin's to look into."""
        return [AlertMail(*row) for row in self._db.execute(
            f"SELECT {_COLUMNS} FROM alert_mails WHERE state = 'failed'"
            " OR (state = 'pending' AND last_error IS NOT NULL) ORDER BY created_at DESC LIMIT ?", [limit])]
