"""Which voicemails and voice notes each user has opened: new to them until they have."""

from __future__ import annotations

from collections.abc import Iterable

from sqlite_utils import Database

from appliance.store.db import write


def mark_heard(db: Database, user_id: int, call_id: int, now: float) -> None:
    """The first opening counts; opening again changes nothing."""
    with write(db):
        db.execute("INSERT OR IGNORE INTO heard (user_id, call_id, heard_at) VALUES (?, ?, ?)",
                   [user_id, call_id, now])


def heard(db: Database, user_id: int, call_ids: Iterable[int]) -> set[int]:
    """Those of the calls this user has opened."""
    ids = list(call_ids)
    if not ids:
        return set()
    marks = ", ".join("?" * len(ids))
    return {row["call_id"] for row in db.query(
        f"SELECT call_id FROM heard WHERE user_id = ? AND call_id IN ({marks})", [user_id, *ids])}
