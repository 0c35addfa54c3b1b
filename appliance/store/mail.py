"""Mail deliveries: which finished voicemails and voice notes still owe their owner a mail."""

from __future__ import annotations

from sqlite_utils import Database

from appliance.store.calls import SUMMARY_QUERY, summary_from_row
from appliance.store.db import write
from appliance.store.records import CallSummary


def calls_to_mail(db: Database, kinds: tuple[str, ...], now: float, limit: int) -> list[CallSummary]:
    """Done calls of these kinds with no sent mail, whose next attempt is due."""
    marks = ", ".join("?" for _ in kinds)
    rows = db.query(
        SUMMARY_QUERY
        + f""" WHERE c.kind IN ({marks}) AND j.state = 'done'
        AND NOT EXISTS (SELECT 1 FROM mail_deliveries m WHERE m.call_id = c.id
                        AND (m.state != 'pending' OR m.next_attempt_at > ?))
        ORDER BY c.id LIMIT ?""",
        [*kinds, now, limit],
    )
    return [summary_from_row(row) for row in rows]


def record_mail(db: Database, call_id: int, recipient: str, state: str, error: str | None,
                next_attempt_at: float, now: float) -> None:
    with write(db):
        db.execute(
            """INSERT INTO mail_deliveries (call_id, recipient, state, attempts, last_error, next_attempt_at, sent_at)
               VALUES (?, ?, ?, 1, ?, ?, ?)
               ON CONFLICT (call_id) DO UPDATE SET recipient = excluded.recipient, state = excluded.state,
                 attempts = attempts + 1, last_error = excluded.last_error,
                 next_attempt_at = excluded.next_attempt_at, sent_at = excluded.sent_at""",
            [call_id, recipient, state, error, next_attempt_at, now if state == "sent" else None],
        )


def mail_delivery(db: Database, call_id: int) -> dict | None:
    rows = list(db.query("SELECT * FROM mail_deliveries WHERE call_id = ?", [call_id]))
    return rows[0] if rows else None
