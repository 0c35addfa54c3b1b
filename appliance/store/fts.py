"""The two full-text indexes of the turns, and every write to them.

`turns_fts` holds every turn (rowid = turns.id): text, speaker label, and the call's caller and
callee. `turns_recent` holds the same rows for the newest RECENT_TURNS turn ids, plus the
speaker's role as a column of its own. It exists because FTS5's bm25() first counts every row
that holds each phrase of the query, in the whole table it ranks in: about 35 ms for "to" in
1.3 million turns, 5 ms in 200 000. Search ranks and counts common words there, and the role
filter is a MATCH term there instead of a join per hit (see search.py).

The writers (intake, transcripts, calls) go through this module so the two tables never drift:
`turns_recent` always holds exactly the rows of `turns_fts` from its lowest rowid up. Search
checks that cheaply (`recent_state`) and falls back to `turns_fts` alone if a writer that
bypassed this module (a row edited by hand, say) left `turns_recent` behind.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlite_utils import Database

MAIN = "turns_fts"
RECENT = "turns_recent"
RECENT_TURNS = 200_000  # turn ids; about 15 000 calls of 13 turns


def insert(db: Database, rows: Sequence[tuple]) -> None:
    """Index new turns: (turn id, text, speaker label, caller, callee, role) each.

    Turn ids only grow, so new rows belong in turns_recent too; the oldest leave it.
    """
    db.conn.executemany(
        f"INSERT INTO {MAIN} (rowid, text, speaker, caller, callee) VALUES (?, ?, ?, ?, ?)",
        [row[:5] for row in rows],
    )
    db.conn.executemany(
        f"INSERT INTO {RECENT} (rowid, text, speaker, caller, callee, role)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        rows,
    )
    trim(db)


def trim(db: Database) -> None:
    """Drop the turns older than the newest RECENT_TURNS ids from turns_recent."""
    db.execute(
        f"DELETE FROM {RECENT} WHERE rowid <= (SELECT rowid FROM {RECENT} ORDER BY rowid DESC"
        " LIMIT 1) - ?",
        [RECENT_TURNS],
    )


def delete(db: Database, turn_ids_sql: str, params: dict) -> None:
    """Remove the turns `turn_ids_sql` (a SELECT of turn ids) selects from both indexes."""
    for table in (MAIN, RECENT):
        db.execute(f"DELETE FROM {table} WHERE rowid IN ({turn_ids_sql})", params)


def update(db: Database, assignments: dict, turn_ids_sql: str, params: dict) -> None:
    """Set columns (text, speaker, caller, callee; role, only in turns_recent) of the selected
    turns in both indexes."""
    values = {f"set_{column}": value for column, value in assignments.items()}
    for table in (MAIN, RECENT):
        columns = [column for column in assignments if table == RECENT or column != "role"]
        sets = ", ".join(f"{column} = :set_{column}" for column in columns)
        db.execute(
            f"UPDATE {table} SET {sets} WHERE rowid IN ({turn_ids_sql})", {**params, **values}
        )


@dataclass(frozen=True)
class RecentState:
    """Where turns_recent stands against turns_fts (judged by their newest rows)."""

    usable: bool  # it holds every row of turns_fts from `low` up
    low: int | None  # its lowest rowid
    complete: bool  # it holds every row of turns_fts


def recent_state(db: Database) -> RecentState:
    def edge(table: str, order: str) -> int | None:
        row = db.execute(f"SELECT rowid FROM {table} ORDER BY rowid {order} LIMIT 1").fetchone()
        return row[0] if row else None

    main_high, recent_high = edge(MAIN, "DESC"), edge(RECENT, "DESC")
    if main_high is None or main_high != recent_high:
        return RecentState(False, None, False)
    low = edge(RECENT, "ASC")
    return RecentState(True, low, low == edge(MAIN, "ASC"))
