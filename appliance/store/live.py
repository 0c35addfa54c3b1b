"""Live transcription in the store: calls in progress and the text events of both parties.

Written by the live service (`appliance live`), read by the web UI's event streams; the two
are separate processes and the database is what both see. Event ids increase, so a stream
resumes after the last id it sent. Each partial is the whole provisional text of the utterance
so far (a reader shows the latest); a final deletes its party's partials, so the table stays
small while a call runs; the whole live draft is pruned once the batch transcript exists.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from appliance.store.concern import Concern, clock
from appliance.store.db import first, read, write

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


class LiveCalls(Concern):
    def start(self, uniqueid: str, *, caller: str | None, callee: str | None, direction: str | None,
              state: str = "live", reason: str | None = None) -> int:
        """Record a call the live service took (or could not take); the same uniqueid again
        (a restarted service) updates the row."""
        if state not in STATES:
            raise ValueError(f"unknown live state {state!r}")
        with write(self._db):
            self._db.execute(
                """INSERT INTO live_calls (uniqueid, caller, callee, direction, state, reason, started_at, seen_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT (uniqueid) DO UPDATE SET state = excluded.state, reason = excluded.reason,
                     seen_at = excluded.seen_at, ended_at = NULL""",
                [uniqueid, caller, callee, direction, state, reason, time.time(), time.time()])
            return first(self._db.query("SELECT id FROM live_calls WHERE uniqueid = ?", [uniqueid]))["id"]

    def event(self, live_call_id: int, role: str, *, final: bool, text: str,
              start: float | None = None, end: float | None = None) -> int:
        now = time.time()
        with write(self._db):
            if final:  # the utterance is settled: its provisional versions are of no more use
                self._db.execute("DELETE FROM live_events WHERE live_call_id = ? AND role = ? AND final = 0",
                           [live_call_id, role])
            cursor = self._db.execute(
                "INSERT INTO live_events (live_call_id, role, final, text, start, end, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)", [live_call_id, role, int(final), text, start, end, now])
            self._db.execute("UPDATE live_calls SET seen_at = ? WHERE id = ?", [now, live_call_id])
            return cursor.lastrowid

    def touch(self, live_call_ids: list[int], now: float | None = None) -> None:
        """The live service is still at these calls (a killed service stops touching them)."""
        if not live_call_ids:
            return
        with write(self._db):
            self._db.execute(f"UPDATE live_calls SET seen_at = ? WHERE id IN ({','.join('?' * len(live_call_ids))})",
                       [clock(now), *live_call_ids])

    def end(self, live_call_id: int) -> None:
        now = time.time()
        with write(self._db):
            self._db.execute("UPDATE live_calls SET state = CASE state WHEN 'live' THEN 'ended' ELSE state END,"
                       " ended_at = ?, seen_at = ? WHERE id = ?", [now, now, live_call_id])

    def call(self, live_call_id: int) -> LiveCall | None:
        """None for a call out of the scope, as for one that does not exist."""
        conditions, params = self.scope.live_where("l")
        row = first(self._db.query(f"{_CALL} WHERE " + " AND ".join(["l.id = :id", *conditions]),
                             {**params, "id": live_call_id}))
        return _live_call(row) if row else None

    def in_progress(self, seen_within: float) -> list[LiveCall]:
        """Calls in the scope not ended whose live service was alive in the last `seen_within`
        seconds, newest first."""
        seen_after = time.time() - seen_within
        conditions, params = self.scope.live_where("l")
        return [_live_call(row) for row in self._db.query(
            f"{_CALL} WHERE " + " AND ".join(["l.ended_at IS NULL", "l.seen_at > :seen_after", *conditions])
            + " ORDER BY l.started_at DESC", {**params, "seen_after": seen_after})]

    def events_since(self, live_call_id: int, after_id: int, limit: int = 500) -> list[LiveEvent]:
        """None of a call out of the scope."""
        if self.call(live_call_id) is None:
            return []
        with read(self._db):
            rows = list(self._db.query(
                "SELECT id, role, final, text, start, end FROM live_events WHERE live_call_id = ? AND id > ?"
                " ORDER BY id LIMIT ?", [live_call_id, after_id, limit]))
        return [LiveEvent(r["id"], r["role"], bool(r["final"]), r["text"], r["start"], r["end"]) for r in rows]

    def prune(self, replaced_seconds: float, keep_seconds: float) -> int:
        """Drop the live drafts the batch transcript has replaced (last seen over
        `replaced_seconds` ago, so open pages have moved on to the transcript first), and any last
        seen over `keep_seconds` ago (a call whose recording never arrived). Returns how many were
        dropped."""
        replaced_before, keep_until = time.time() - replaced_seconds, time.time() - keep_seconds
        with write(self._db):
            ids = [row["id"] for row in self._db.query(
                f"""SELECT id FROM ({_CALL}) WHERE (call_id IS NOT NULL AND seen_at < ?) OR seen_at < ?""",
                [replaced_before, keep_until])]
            if ids:
                self._db.execute(f"DELETE FROM live_calls WHERE id IN ({','.join('?' * len(ids))})", ids)
        return len(ids)


