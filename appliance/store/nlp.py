"""Call insights (keywords, summary, entities) per call, and their full-text index.

One row per call, for the call's newest transcript; `insights_fts` (rowid = call id) is kept
in step by the schema's triggers, so a call deleted by any path leaves no searchable text.
The data travels as the JSON of appliance.nlp.Insights; this module does not interpret it.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable

from appliance.errors import BadQuery
from appliance.store import scopes, webhooks
from appliance.store.concern import Concern, clock
from appliance.store.db import write
from appliance.store.query import parse_query


class Insights(Concern):
    def needing(self, limit: int = 20) -> list[tuple[int, int]]:
        """(call id, transcript id) of transcripts that have no insights yet, oldest first."""
        rows = self._db.execute(
            """SELECT r.call_id, t.id FROM transcripts t JOIN recordings r ON r.id = t.recording_id
            WHERE NOT EXISTS (SELECT 1 FROM call_insights i WHERE i.transcript_id = t.id)
              AND t.id = (SELECT max(t2.id) FROM transcripts t2 JOIN recordings r2 ON r2.id = t2.recording_id
                          WHERE r2.call_id = r.call_id)
            ORDER BY t.id LIMIT ?""",
            [limit],
        ).fetchall()
        return [(call_id, transcript_id) for call_id, transcript_id in rows]

    def save(self, call_id: int, transcript_id: int, data: dict, error: str | None = None,
             now: float | None = None) -> int:
        """Store the call's insights (Insights.to_dict()) and, in the same transaction, queue the call for every enabled
        webhook (so a call is handed on once, and never before its insights exist). Returns how
        many deliveries were queued."""
        now = clock(now)
        keywords = ", ".join(data.get("keywords", ()))
        summary = data.get("abstract") or " ".join(line["text"] for line in data.get("summary", ()))
        with write(self._db):
            exists = self._db.execute("SELECT 1 FROM calls WHERE id = ?", [call_id]).fetchone()
            if not exists:
                return 0  # deleted while it was analysed
            self._db.execute(
                """INSERT INTO call_insights (call_id, transcript_id, keywords, summary, data, error, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (call_id) DO UPDATE SET transcript_id = excluded.transcript_id,
                  keywords = excluded.keywords, summary = excluded.summary, data = excluded.data,
                  error = excluded.error, created_at = excluded.created_at""",
                [call_id, transcript_id, keywords, summary, json.dumps(data, ensure_ascii=False), error, now],
            )
            return webhooks.queue_call(self._db, call_id, now)

    def of_calls(self, call_ids: Iterable[int]) -> dict[int, dict]:
        """The stored insights JSON of each of these calls (in the scope) that has some."""
        call_ids = scopes.visible_ids(self._db, self.scope, list(call_ids))
        if not call_ids:
            return {}
        marks = ", ".join("?" for _ in call_ids)
        rows = self._db.execute(f"SELECT call_id, data FROM call_insights WHERE call_id IN ({marks})", list(call_ids))
        return {call_id: json.loads(data) for call_id, data in rows}

    def search(self, query: str, limit: int = 20) -> list[int]:
        """Calls in the scope whose keywords or summary match the query (search's syntax), best first."""
        match = parse_query(query)
        conditions, params = self.scope.where("c")
        try:
            rows = self._db.execute(
                "SELECT insights_fts.rowid FROM insights_fts JOIN calls c ON c.id = insights_fts.rowid"
                " WHERE " + " AND ".join(["insights_fts MATCH :match", *conditions])
                + " ORDER BY bm25(insights_fts, 5.0, 1.0) LIMIT :limit",
                {**params, "match": match, "limit": limit},
            ).fetchall()
        except sqlite3.OperationalError as exc:
            raise BadQuery(f"The search could not run ({exc}); try fewer or simpler words.", "query-failed") from None
        return [row[0] for row in rows]


