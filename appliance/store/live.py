"""Live transcription in the store: calls in progress and the text events of both parties.

Written by the live service (`appliance live`), read by the web UI's event streams; the two
are separate processes and the database is what both see. Event ids increase, so a stream
resumes after the last id it sent. Each partial is the whole provisional text of the utterance
so far (a reader shows the latest); a final deletes its party's partials, so the table stays
small while a call runs; the whole live draft is pruned once the batch transcript exists.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlite_utils import Database

from appliance.store.db import first, read, write
from appliance.store.scopes import Scope

STATES = ("live", "unavailable", "ended")


@dataclass(frozen=True)
class LiveCall:
    id: int
    uniqueid: str
    caller: str | None
    callee: str | None
    direction: str | None
    state: str  # live | unavailable (over the limit, engine missing) | ended
    reason: str | None
    started_at: float
    seen_at: float  # the live service's last sign of life for this call
    ended_at: float | None
    call_id: int | None  # the batch transcript's call, once it is done (replaces the draft)


@dataclass(frozen=True)
class LiveEvent:
    id: int
    role: str  # caller | callee
    final: bool
    text: str
    start: float | None
    end: float | None


_CALL = """SELECT l.*, (SELECT c.id FROM calls c JOIN recordings r ON r.call_id = c.id
                       JOIN transcripts t ON t.recording_id = r.id
                       WHERE c.uniqueid = l.uniqueid LIMIT 1) AS call_id
           FROM live_calls l"""


def _live_call(row: dict) -> LiveCall:
    return LiveCall(**{k: row[k] for k in LiveCall.__dataclass_fields__})


def start(db: Database, uniqueid: str, caller: str | None, callee: str | None, direction: str | None,
          state: str, reason: str | None, now: float) -> int:
    """Record a call the live service took (or could not take); the same uniqueid again
    (a restarted service) updates the row."""
    if state not in STATES:
        raise ValueError(f"unknown live state {state!r}")
    with write(db):
        db.execute(
            """INSERT INTO live_calls (uniqueid, caller, callee, direction, state, reason, started_at, seen_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (uniqueid) DO UPDATE SET state = excluded.state, reason = excluded.reason,
                 seen_at = excluded.seen_at, ended_at = NULL""",
            [uniqueid, caller, callee, direction, state, reason, now, now])
        return first(db.query("SELECT id FROM live_calls WHERE uniqueid = ?", [uniqueid]))["id"]


def add_event(db: Database, live_call_id: int, role: str, final: bool, text: str,
              start: float | None, end: float | None, now: float) -> int:
    with write(db):
        if final:  # the utterance is settled: its provisional versions are of no more use
            db.execute("DELETE FROM live_events WHERE live_call_id = ? AND role = ? AND final = 0",
                       [live_call_id, role])
        cursor = db.execute(
            "INSERT INTO live_events (live_call_id, role, final, text, start, end, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)", [live_call_id, role, int(final), text, start, end, now])
        db.execute("UPDATE live_calls SET seen_at = ? WHERE id = ?", [now, live_call_id])
        return cursor.lastrowid


def touch(db: Database, live_call_ids: list[int], now: float) -> None:
    """The live service is still at these calls (a killed service stops touching them)."""
    if not live_call_ids:
        return
    with write(db):
        db.execute(f"UPDATE live_calls SET seen_at = ? WHERE id IN ({','.join('?' * len(live_call_ids))})",
                   [now, *live_call_ids])


def end(db: Database, live_call_id: int, now: float) -> None:
    with write(db):
        db.execute("UPDATE live_calls SET state = CASE state WHEN 'live' THEN 'ended' ELSE state END,"
                   " ended_at = ?, seen_at = ? WHERE id = ?", [now, now, live_call_id])


def call(db: Database, live_call_id: int, scope: Scope) -> LiveCall | None:
    """None for a call out of the scope, as for one that does not exist."""
    conditions, params = scope.live_where("l")
    row = first(db.query(f"{_CALL} WHERE " + " AND ".join(["l.id = :id", *conditions]),
                         {**params, "id": live_call_id}))
    return _live_call(row) if row else None


def in_progress(db: Database, seen_after: float, scope: Scope) -> list[LiveCall]:
    """Calls in the scope not ended whose live service was alive after `seen_after`, newest first."""
    conditions, params = scope.live_where("l")
    return [_live_call(row) for row in db.query(
        f"{_CALL} WHERE " + " AND ".join(["l.ended_at IS NULL", "l.seen_at > :seen_after", *conditions])
        + " ORDER BY l.started_at DESC", {**params, "seen_after": seen_after})]


def events_since(db: Database, live_call_id: int, after_id: int, limit: int = 500) -> list[LiveEvent]:
    with read(db):
        rows = list(db.query(
            "SELECT id, role, final, text, start, end FROM live_events WHERE live_call_id = ? AND id > ?"
            " ORDER BY id LIMIT ?", [live_call_id, after_id, limit]))
    return [LiveEvent(r["id"], r["role"], bool(r["final"]), r["text"], r["start"], r["end"]) for r in rows]


def prune(db: Database, replaced_before: float, keep_until: float) -> int:
    """Drop the live drafts the batch transcript has replaced (last seen before
    `replaced_before`, so open pages have moved on to the transcript first), and any last seen
    before `keep_until` (a call whose recording never arrived). Returns how many were dropped."""
    with write(db):
        ids = [row["id"] for row in db.query(
            f"""SELECT id FROM ({_CALL}) WHERE (call_id IS NOT NULL AND seen_at < ?) OR seen_at < ?""",
            [replaced_before, keep_until])]
        if ids:
            db.execute(f"DELETE FROM live_calls WHERE id IN ({','.join('?' * len(ids))})", ids)
    return len(ids)
