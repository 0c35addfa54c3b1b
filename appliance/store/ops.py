"""Operations in SQL: small state facts (worker alive, last retention run, low-disk mail sent),
the queue's health, and what erasure needs beyond deleting calls.

Erasure must leave nothing behind in the file: deleting rows frees pages but leaves their bytes,
FTS5 keeps deleted terms in its old index segments until they are merged, and the WAL keeps
old page images. `compact()` merges the indexes, rebuilds the file and empties the WAL.
"""

from __future__ import annotations

import json
import time

from appliance.store.concern import Concern, clock
from appliance.store.db import first, write
from appliance.store.filters import WORD_CALLS, number_digits
from appliance.store.query import parse_query

# Typed numbers shorter than this are extensions and must match exactly; longer ones match by
# their last NATIONAL_DIGITS digits, so "+49 30 1234567" finds "030 1234567" as well.
EXTENSION_DIGITS = 6
NATIONAL_DIGITS = 9


class Ops(Concern):
    def set_state(self, key: str, value, now: float | None = None) -> None:
        with write(self._db):
            self._db.execute(
                "INSERT INTO ops_state (key, value, updated_at) VALUES (?, ?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                [key, json.dumps(value), clock(now)],
            )

    def state(self, key: str) -> tuple[object, float] | None:
        """(value, updated_at), or None if never set."""
        row = first(self._db.query("SELECT value, updated_at FROM ops_state WHERE key = ?", [key]))
        return (json.loads(row["value"]), row["updated_at"]) if row else None

    def clear_state(self, key: str) -> None:
        with write(self._db):
            self._db.execute("DELETE FROM ops_state WHERE key = ?", [key])

    def oldest_queued(self) -> float | None:
        """created_at of the oldest job still waiting (queued or running)."""
        row = self._db.execute("SELECT min(created_at) FROM jobs WHERE state IN ('queued', 'running')").fetchone()
        return row[0]

    def matching_numbers(self, number: str) -> list[str]:
        """Every stored number (as written) that is the typed one, in any usual notation."""
        typed = _digits_only(number_digits(number))
        if not typed:
            return []
        key = typed if len(typed) <= EXTENSION_DIGITS else typed[-NATIONAL_DIGITS:]
        found = []
        for row in self._db.query("SELECT DISTINCT number FROM call_numbers"):
            stored = _digits_only(row["number"])
            if stored == typed or (len(typed) > EXTENSION_DIGITS and stored.endswith(key)):
                found.append(row["number"])
        return found

    def calls_with_numbers(self, numbers: list[str]) -> set[int]:
        if not numbers:
            return set()
        marks = ", ".join("?" * len(numbers))
        return {
            row["id"]
            for row in self._db.query(
                f"SELECT id FROM calls WHERE caller IN ({marks}) OR callee IN ({marks})", [*numbers, *numbers]
            )
        }

    def calls_with_words(self, query: str) -> set[int]:
        """Calls whose transcript (text or speaker names) matches the query; BadQuery if unusable."""
        return {row["call_id"] for row in self._db.query(WORD_CALLS, {"words": parse_query(query)})}

    def forget_numbers(self, numbers: list[str]) -> int:
        """Drop numbers from the list of numbers seen, unless a remaining call still has them."""
        with write(self._db):
            removed = 0
            for number in numbers:
                removed += self._db.execute(
                    "DELETE FROM call_numbers WHERE number = :n AND NOT EXISTS"
                    " (SELECT 1 FROM calls WHERE caller = :n OR callee = :n)", {"n": number},
                ).rowcount
            return removed

    def _fts_tables(self) -> list[str]:
        """Every FTS5 index (turns_fts, turns_recent, and whatever a later step adds); not an
        fts5vocab table (turns_vocab), which reads an index and cannot be optimised."""
        return [
            row["name"]
            for row in self._db.query(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL TABLE%USING fts5(%'"
            )
        ]

    def forget_live_drafts(self, numbers: list[str], uniqueids: list[str], words: list[str]) -> int:
        """Live drafts (appliance.store.live) of the erased calls, of the numbers, or with the words:
        a draft is pruned once its call has a transcript, but one whose recording never came stays
        until it ages out, and it carries the same text and numbers."""
        listed = "(SELECT value FROM json_each(:{}))"
        conditions = [f"caller IN {listed.format('numbers')}", f"callee IN {listed.format('numbers')}",
                      f"uniqueid IN {listed.format('uniqueids')}"]
        params = {"numbers": json.dumps(numbers), "uniqueids": json.dumps(uniqueids)}
        for n, word in enumerate(words):
            conditions.append(f"id IN (SELECT live_call_id FROM live_events WHERE instr(lower(text), :w{n}) > 0)")
            params[f"w{n}"] = word.lower()
        with write(self._db):
            return self._db.execute(f"DELETE FROM live_calls WHERE {' OR '.join(conditions)}", params).rowcount

    def compact(self, busy_seconds: float = 30.0) -> bool:
        """Merge every FTS index, rebuild the file, empty the WAL. True if the WAL was emptied
        (a reader holding an old snapshot can keep it from being truncated)."""
        with write(self._db):
            for table in self._fts_tables():
                self._db.execute(f"INSERT INTO {table} ({table}) VALUES ('optimize')")
        self._db.execute("VACUUM")
        deadline = time.monotonic() + busy_seconds
        while True:
            busy, _, _ = self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            if not busy:
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)

    def backup_to(self, target: str) -> None:
        """Copy the database into the file `target` with SQLite's online backup API, in one step:
        a single read snapshot, so writers (the worker) go on and the copy is consistent."""
        import sqlite3

        destination = sqlite3.connect(target)
        try:
            self._db.conn.backup(destination)
        finally:
            destination.close()

    def restore_from(self, source: str) -> None:
        """Replace this database's content with the file `source`'s, through the backup API (the
        live file is never swapped under open connections, and its WAL stays its own)."""
        import sqlite3

        origin = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        try:
            origin.backup(self._db.conn)
        finally:
            origin.close()

    def recording_paths(self) -> list[str]:
        """Every recording file the database still expects on disk."""
        return [
            row["path"]
            for row in self._db.query(
                "SELECT f.path FROM recording_files f JOIN recordings r ON r.id = f.recording_id"
                " WHERE r.audio_deleted_at IS NULL ORDER BY f.path"
            )
        ]

    def held_leases(self, now: float | None = None) -> int:
        """Jobs a living worker holds right now."""
        return self._db.execute(
            "SELECT count(*) FROM jobs WHERE state = 'running' AND lease_expires >= ?", [clock(now)]
        ).fetchone()[0]

    def call_count(self) -> int:
        return self._db.execute("SELECT count(*) FROM calls").fetchone()[0]


# --- erasure ---------------------------------------------------------------------------------


def _digits_only(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


# --- backup ----------------------------------------------------------------------------------


