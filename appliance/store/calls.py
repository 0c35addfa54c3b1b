"""The call list: each call with its latest job's state and its newest transcript's summary.

Also what the web needs around it: filtered counts for paging, the calls that changed since a
mark (live updates), and deleting a call with everything derived from it.
"""

from __future__ import annotations

import json
import sqlite3
import time

from appliance.errors import BadInput, LegalHold, NotFound
from appliance.store import fts, scopes
from appliance.store.concern import Concern
from appliance.store.db import first, write
from appliance.store.filters import CallFilter, where_clause
from appliance.store.records import CallSummary
from appliance.store.query import parse_query
from appliance.store.schema import call_start

# The list's orders, each an indexed expression on `calls` alone; ties go by id.
SORTS = {"start": call_start("c."), "duration": "c.duration", "caller": "c.caller_digits"}

# j: the call's latest job; t: its newest transcript (of whichever recording has one).
_FROM = """
FROM calls c
LEFT JOIN jobs j ON j.id = (SELECT max(j2.id) FROM jobs j2
  JOIN recordings r ON r.id = j2.recording_id WHERE r.call_id = c.id)
LEFT JOIN transcripts t ON t.id = (SELECT max(t2.id) FROM transcripts t2
  JOIN recordings r ON r.id = t2.recording_id WHERE r.call_id = c.id)
"""

# One statement, so each row is one consistent snapshot. Labels travel as [idx, label] pairs
# and are sorted in Python: SQLite 3.40 has no ORDER BY inside aggregates.
_COLUMNS = """
SELECT c.*, j.state, j.error, j.error_code, j.error_values, j.id AS job_id, j.recording_id, j.progress, j.attempts,
  t.language,
  (SELECT json_group_array(json_array(s.idx, s.label)) FROM speakers s
    WHERE s.transcript_id = t.id) AS speakers
"""
SUMMARY_QUERY = _COLUMNS + _FROM


def summary_from_row(row: dict) -> CallSummary:
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
        job_id=row["job_id"],
        recording_id=row["recording_id"],
        progress=row["progress"] or 0.0,
        attempts=row["attempts"] or 0,
        error_code=row["error_code"],
        error_values=json.loads(row["error_values"] or "{}"),
    )


# Below this many jobs in the filtered state, the list tests the state through the set of their
# calls; above it, call by call from the newest, which stops after a page.
_RARE_STATE = 2000


def order_by(sort: str = "start", descending: bool = True) -> str:
    if sort not in SORTS:
        raise BadInput(f"sort must be one of {', '.join(SORTS)}, got {sort!r}")
    direction = "DESC" if descending else "ASC"
    return f" ORDER BY {SORTS[sort]} {direction}, c.id {direction}"


def page_ids_query(where: CallFilter, state_per_call: bool = True, order: str = order_by()) -> tuple[str, dict]:
    """SQL selecting the ids of one page of calls (:limit, :offset) in `order` (order_by()).

    The page is picked on `calls` alone, so the summary's subqueries (latest job, newest
    transcript) run for its rows only, not for every row an OFFSET skips or a filter reads.
    """
    conditions, params = where.where(state_per_call=state_per_call)
    return "SELECT c.id FROM calls c" + where_clause(conditions) + order + " LIMIT :limit OFFSET :offset", params


class Calls(Concern):
    def page(self, limit: int = 50, offset: int = 0, *, sort: str = "start", descending: bool = True,
             **filters) -> list[CallSummary]:
        """The calls in this scope, newest start first unless `sort` (SORTS) says otherwise: the
        call's start (its own offset counted; when the appliance learnt of it where the start is
        missing), its duration or the caller's number. `filters`: CallFilter's fields and
        `keyword`. Dates are YYYY-MM-DD, inclusive, days of `zone` (None: UTC), against the call's start; `number` is
        part of the caller's or callee's number, spaces and ()-/. ignored, `extension` a whole
        one; `state` is the latest job's; durations are seconds."""
        where = self._filter(**filters)
        order = order_by(sort, descending)
        state_per_call = True
        if where.state:
            jobs = self._db.execute(
                "SELECT count(*) FROM (SELECT 1 FROM jobs WHERE state = ? LIMIT ?)",
                [where.state, _RARE_STATE + 1],
            ).fetchone()[0]
            state_per_call = jobs > _RARE_STATE
        ids, params = page_ids_query(where, state_per_call, order)
        rows = self._db.query(
            SUMMARY_QUERY + f" WHERE c.id IN ({ids})" + order,
            {**params, "limit": limit, "offset": offset},
        )
        return [summary_from_row(row) for row in rows]

    def count(self, **filters) -> int:
        """Counted on `calls` alone: the latest job only matters for a state filter, and the
        transcript never does."""
        conditions, params = self._filter(**filters).where()
        return self._db.execute(
            "SELECT count(*) FROM calls c" + where_clause(conditions), params
        ).fetchone()[0]

    def get(self, call_id: int) -> CallSummary:
        """NotFound for a call out of the scope too, so nobody learns that it exists."""
        conditions, params = self.scope.where("c")
        sql = SUMMARY_QUERY + where_clause(["c.id = :call_id", *conditions])
        for row in self._db.query(sql, {**params, "call_id": call_id}):
            return summary_from_row(row)
        raise NotFound(f"there is no call {call_id}")

    def conversation(self, call_id: int) -> list[CallSummary]:
        """The legs of the call's conversation (the calls sharing its Asterisk linkedid: a transfer, a
        queue, a menu then an agent; and those of a linkedid an attended transfer joined to it, from
        the PBX's CEL: appliance/store/cdr.py) that the scope holds, the call among them, oldest
        first by id; [] without a linkedid."""
        self._require_visible(call_id)
        conditions, params = self.scope.where("c")
        root = """(SELECT coalesce(j.joined_to, o.linkedid) FROM calls o
                   LEFT JOIN conversation_links j ON j.linkedid = o.linkedid WHERE o.id = :call_id AND o.linkedid <> '')"""
        sql = SUMMARY_QUERY + where_clause([
            f"(c.linkedid = {root} OR c.linkedid IN (SELECT linkedid FROM conversation_links WHERE joined_to = {root}))",
            *conditions])
        return [summary_from_row(row) for row in self._db.query(sql + " ORDER BY c.id", {**params, "call_id": call_id})]

    def changes_since(self, mark: float, limit: int = 500) -> tuple[float, list[CallSummary]]:
        """Calls in the scope whose job moved or transcript arrived after `mark`, oldest change first.

        Returns the mark to ask with next time: the last change returned, or `mark` itself when
        nothing changed. With more than `limit` changes, the next call picks up the rest.
        """
        conditions, params = self.scope.where("c")
        rows = list(
            self._db.query(
                _COLUMNS
                + ", ch.changed_at"
                + _FROM
                + " JOIN call_changes ch ON ch.call_id = c.id"
                + where_clause(["ch.changed_at > :mark", *conditions])
                + " ORDER BY ch.changed_at LIMIT :limit",
                {**params, "mark": mark, "limit": limit},
            )
        )
        return (rows[-1]["changed_at"] if rows else mark), [summary_from_row(row) for row in rows]

    def visible(self, call_id: int) -> bool:
        return scopes.visible(self._db, self.scope, call_id)

    def check_edit(self, call_id: int) -> None:
        """NotFound if the call is out of scope, NotAllowed if the scope may not edit: the first
        step of every change to a call."""
        self._require_edit(call_id)

    def _filter(self, keyword: str | None = None, **filters) -> CallFilter:
        """CallFilter's fields in this scope; `keyword` is what a person typed to find in the
        call's words (BadQuery where search could not use it)."""
        return CallFilter(**filters, words=parse_query(keyword) if keyword else None, scope=self.scope)

    def latest_change(self) -> float:
        """The mark of the newest change of any call (0 without one): the feed's position for
        every scope (the mark of changes_since)."""
        return first(self._db.query("SELECT COALESCE(max(changed_at), 0) AS mark FROM call_changes"))["mark"]

    def delete(self, call_id: int) -> tuple[str, ...]:
        """Delete the call and all derived from it; returns its recording files, to remove after.
        LegalHold if the call is under legal hold.

        A worker transcribing the call finds its job gone: its heartbeat and finish report a lost
        lease and store nothing. The files stay in known_paths(), so the spool sweep never
        enqueues them again.
        """
        try:
            return self._delete(call_id, time.time())
        except sqlite3.IntegrityError:
            if first(self._db.query("SELECT 1 FROM calls WHERE id = ? AND legal_hold", [call_id])):
                raise LegalHold(f"call {call_id} is under legal hold; lift the hold to delete it",
                                "legal-hold") from None
            raise

    def _delete(self, call_id: int, now: float) -> tuple[str, ...]:
        with write(self._db):
            if first(self._db.query("SELECT 1 FROM calls WHERE id = ?", [call_id])) is None:
                raise NotFound(f"there is no call {call_id}")
            paths = tuple(
                row["path"]
                for row in self._db.query(
                    "SELECT f.path FROM recording_files f JOIN recordings r ON r.id = f.recording_id"
                    " WHERE r.call_id = ? ORDER BY r.id, f.position",
                    [call_id],
                )
            )
            # Children before parents, so foreign keys hold after every statement.
            recordings = "SELECT id FROM recordings WHERE call_id = :call"
            transcripts = f"SELECT id FROM transcripts WHERE recording_id IN ({recordings})"
            turns = f"SELECT id FROM turns WHERE transcript_id IN ({transcripts})"
            fts.delete(self._db, turns, {"call": call_id})
            for statement in (
                f"DELETE FROM turns WHERE transcript_id IN ({transcripts})",
                f"DELETE FROM speakers WHERE transcript_id IN ({transcripts})",
                f"DELETE FROM transcripts WHERE recording_id IN ({recordings})",
                f"DELETE FROM jobs WHERE recording_id IN ({recordings})",
                f"DELETE FROM recording_files WHERE recording_id IN ({recordings})",
                "DELETE FROM recordings WHERE call_id = :call",
                "DELETE FROM call_changes WHERE call_id = :call",
                "DELETE FROM calls WHERE id = :call",
            ):
                self._db.execute(statement, {"call": call_id})
            self._db.conn.executemany(
                "INSERT OR IGNORE INTO deleted_files (path, deleted_at) VALUES (?, ?)",
                [(path, now) for path in paths],
            )
            return paths


