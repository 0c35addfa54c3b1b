"""Site vocabulary: names and terms the recogniser should get right (passed on as hotwords)."""

from __future__ import annotations

from sqlite_utils import Database

from appliance.errors import BadInput
from appliance.store.db import write


def vocabulary(db: Database) -> list[str]:
    return [row["term"] for row in db.query("SELECT term FROM vocabulary ORDER BY term")]


def add(db: Database, term: str, now: float) -> None:
    """Add a term; adding one already there (in any letter case) changes nothing."""
    term = " ".join(term.split())
    if not term:
        raise BadInput("a vocabulary term needs at least one visible character")
    with write(db):
        db.execute("INSERT OR IGNORE INTO vocabulary (term, created_at) VALUES (?, ?)", [term, now])


def remove(db: Database, term: str) -> None:
    with write(db):
        db.execute("DELETE FROM vocabulary WHERE term = ?", [" ".join(term.split())])
