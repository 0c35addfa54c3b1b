"""The call list: each call with its latest job's state and its newest transcript's summary."""

from __future__ import annotations

import json

from sqlite_utils import Database

from appliance.errors import NotFound
from appliance.store.records import CallSummary

# One statement, so each row is one consistent snapshot. Labels travel as [idx, label] pairs
# and are sorted in Python: SQLite 3.40 has no ORDER BY inside aggregates.
_SUMMARY = """
SELECT c.*, j.state, j.error, t.duration, t.language,
  (SELECT json_group_array(json_array(s.idx, s.label)) FROM speakers s
    WHERE s.transcript_id = t.id) AS speakers
FROM calls c
LEFT JOIN jobs j ON j.id = (SELECT max(j2.id) FROM jobs j2
  JOIN recordings r ON r.id = j2.recording_id WHERE r.call_id = c.id)
LEFT JOIN transcripts t ON t.id = (SELECT max(t2.id) FROM transcripts t2
  JOIN recordings r ON r.id = t2.recording_id WHERE r.call_id = c.id)
"""


def _summary(row: dict) -> CallSummary:
    return CallSummary(
        id=row["id"],
        uniqueid=row["uniqueid"],
        caller=row["caller"],
        callee=row["callee"],
        direction=row["direction"],
        started_at=row["started_at"],
        kind=row["kind"],
        duration=row["duration"],
        state=row["state"],
        error=row["error"],
        speakers=tuple(label for _, label in sorted(json.loads(row["speakers"]))),
        language=row["language"],
        created_at=row["created_at"],
    )


def calls(db: Database, limit: int, offset: int) -> list[CallSummary]:
    """Newest first, by the order the appliance learnt of them (started_at may be missing)."""
    rows = db.query(_SUMMARY + " ORDER BY c.id DESC LIMIT ? OFFSET ?", [limit, offset])
    return [_summary(row) for row in rows]


def call(db: Database, call_id: int) -> CallSummary:
    for row in db.query(_SUMMARY + " WHERE c.id = ?", [call_id]):
        return _summary(row)
    raise NotFound(f"there is no call {call_id}")
