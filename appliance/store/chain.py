"""The audit log's hash chain: each row's hash covers the previous row's hash and the row
itself, so changing, removing or reordering a row in the database file breaks every hash
after it (`appliance audit verify` finds the first)."""

from __future__ import annotations

import hashlib
import json
import sqlite3

CHAINED = ("id", "at", "actor", "action", "target", "detail")


def row_hash(previous: str | None, row) -> str:
    # JSON of the fields in a fixed order: unambiguous where a plain join would not be
    # ("a|b" + "c" vs "a" + "b|c"), and floats keep their exact repr.
    canonical = json.dumps([row[name] for name in CHAINED], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(((previous or "") + canonical).encode()).hexdigest()


def chain_existing(conn: sqlite3.Connection) -> None:
    """A migration step: hash the rows written before the chain existed, oldest first."""
    previous = None
    rows = conn.execute(f"SELECT {', '.join(CHAINED)} FROM audit_log ORDER BY id").fetchall()
    for values in rows:
        previous = row_hash(previous, dict(zip(CHAINED, values)))
        conn.execute("UPDATE audit_log SET hash = ? WHERE id = ?", [previous, values[0]])
