"""Which voicemails and voice notes each user has opened: new to them until they have."""

from __future__ import annotations

from collections.abc import Iterable

from appliance.store.concern import Concern, clock
from appliance.store.db import write


class Heard(Concern):
    def mark(self, user_id: int, call_id: int, now: float | None = None) -> None:
        """This user has opened this voicemail or voice note (one in this scope). The first
        opening counts; opening again changes nothing."""
        self._require_visible(call_id)
        with write(self._db):
            self._db.execute("INSERT OR IGNORE INTO heard (user_id, call_id, heard_at) VALUES (?, ?, ?)",
                             [user_id, call_id, clock(now)])

    def among(self, user_id: int, call_ids: Iterable[int]) -> set[int]:
        """Those of the calls this user has opened."""
        ids = list(call_ids)
        if not ids:
            return set()
        marks = ", ".join("?" * len(ids))
        return {row["call_id"] for row in self._db.query(
            f"SELECT call_id FROM heard WHERE user_id = ? AND call_id IN ({marks})", [user_id, *ids])}
