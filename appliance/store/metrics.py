"""Conversation metrics per call (appliance.analytics), for the call's newest transcript.

The data travels as the JSON of appliance.analytics.metrics.CallMetrics, keyed by speaker
index, never by name: a renamed speaker keeps its figures, and no number or name is stored
twice. The few figures the dashboard sums are copied into columns as it is saved
(schema.METRIC_COLUMNS); nothing else here interprets it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from appliance.store import scopes
from appliance.store.concern import Concern, clock
from appliance.store.db import write
from appliance.store.schema import METRIC_COLUMNS


class Metrics(Concern):
    def needing(self, limit: int = 20) -> list[tuple[int, int]]:
        """(call id, transcript id) of calls whose newest transcript has no metrics yet, oldest first;
        a new transcript of a call (an edit, a re-run) replaces the older one's metrics."""
        rows = self._db.execute(
            """SELECT r.call_id, max(t.id) AS newest FROM transcripts t JOIN recordings r ON r.id = t.recording_id
            GROUP BY r.call_id
            HAVING NOT EXISTS (SELECT 1 FROM call_metrics m WHERE m.call_id = r.call_id AND m.transcript_id = newest)
            ORDER BY newest LIMIT ?""",
            [limit],
        ).fetchall()
        return [(call_id, transcript_id) for call_id, transcript_id in rows]

    def save(self, call_id: int, transcript_id: int, data: dict, error: str | None = None,
             now: float | None = None) -> None:
        """Store a call's metrics (CallMetrics.to_dict()) for that transcript."""
        with write(self._db):
            if not self._db.execute("SELECT 1 FROM calls WHERE id = ?", [call_id]).fetchone():
                return  # deleted while it was measured
            names = ", ".join(METRIC_COLUMNS)
            figures = ", ".join(sql.format(data=":data") for sql in METRIC_COLUMNS.values())
            updates = ", ".join(f"{name} = excluded.{name}" for name in METRIC_COLUMNS)
            self._db.execute(
                f"""INSERT INTO call_metrics (call_id, transcript_id, exact, data, error, created_at, {names})
                VALUES (:call_id, :transcript_id, :exact, :data, :error, :now, {figures})
                ON CONFLICT (call_id) DO UPDATE SET transcript_id = excluded.transcript_id,
                  exact = excluded.exact, data = excluded.data, error = excluded.error,
                  created_at = excluded.created_at, {updates}""",
                {"call_id": call_id, "transcript_id": transcript_id, "exact": bool(data.get("exact")),
                 "data": json.dumps(data), "error": error, "now": clock(now)},
            )

    def of_calls(self, call_ids: Iterable[int]) -> dict[int, dict]:
        """The stored metrics JSON of each of these calls (in the scope) that has some."""
        call_ids = scopes.visible_ids(self._db, self.scope, list(call_ids))
        if not call_ids:
            return {}
        marks = ", ".join("?" for _ in call_ids)
        rows = self._db.execute(f"SELECT call_id, data FROM call_metrics WHERE call_id IN ({marks})", list(call_ids))
        return {call_id: json.loads(data) for call_id, data in rows}


