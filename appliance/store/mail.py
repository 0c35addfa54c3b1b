"""Mail deliveries: which finished voicemails and voice notes still owe their owner a mail."""

from __future__ import annotations

from appliance.store.calls import SUMMARY_QUERY, summary_from_row
from appliance.store.concern import Concern, clock
from appliance.store.db import write
from appliance.store.records import CallSummary


class MailDeliveries(Concern):
    def due(self, kinds: tuple[str, ...] = ("voicemail", "note"), now: float | None = None,
            limit: int = 20) -> list[CallSummary]:
        """Done calls of these kinds with no sent mail, whose next attempt is due."""
        marks = ", ".join("?" for _ in kinds)
        rows = self._db.query(
            SUMMARY_QUERY
            + f""" WHERE c.kind IN ({marks}) AND j.state = 'done'
            AND NOT EXISTS (SELECT 1 FROM mail_deliveries m WHERE m.call_id = c.id
                            AND (m.state != 'pending' OR m.next_attempt_at > ?))
            ORDER BY c.id LIMIT ?""",
            [*kinds, clock(now), limit],
        )
        return [summary_from_row(row) for row in rows]

    def record(self, call_id: int, recipient: str, state: str, error: str | None = None,
               next_attempt_at: float = 0.0, now: float | None = None) -> None:
        now = clock(now)
        with write(self._db):
            self._db.execute(
                """INSERT INTO mail_deliveries (call_id, recipient, state, attempts, last_error, next_attempt_at,
                                                sent_at)
                   VALUES (?, ?, ?, 1, ?, ?, ?)
                   ON CONFLICT (call_id) DO UPDATE SET recipient = excluded.recipient, state = excluded.state,
                     attempts = attempts + 1, last_error = excluded.last_error,
                     next_attempt_at = excluded.next_attempt_at, sent_at = excluded.sent_at""",
                [call_id, recipient, state, error, next_attempt_at, now if state == "sent" else None],
            )

    def of_call(self, call_id: int) -> dict | None:
        rows = list(self._db.query("SELECT * FROM mail_deliveries WHERE call_id = ?", [call_id]))
        return rows[0] if rows else None
