"""Each user's saved filters of the calls list: a name and the list's query string, which the
web layer checks before it saves one. Gone with the user."""

from __future__ import annotations

from appliance.errors import BadInput, NotFound
from appliance.store.concern import Concern, clock
from appliance.store.db import write
from appliance.store.records import SavedFilter

MOST_PER_USER = 50
NAME_CHARS = 60


class SavedFilters(Concern):
    def save(self, user_id: int, name: str, query: str, now: float | None = None) -> int:
        """Save the filter under its name (the user's filter of that name is replaced); its id.
        BadInput for an empty or overlong name, or past MOST_PER_USER."""
        name = " ".join(name.split())
        if not 0 < len(name) <= NAME_CHARS or not name.isprintable():
            raise BadInput(f"a filter's name has 1 to {NAME_CHARS} printable characters", "filter-name",
                           most=NAME_CHARS)
        with write(self._db):
            count = self._db.execute("SELECT count(*) FROM saved_filters WHERE user_id = ? AND name <> ?",
                                     [user_id, name]).fetchone()[0]
            if count >= MOST_PER_USER:
                raise BadInput(f"at most {MOST_PER_USER} saved filters per user", "filter-count", most=MOST_PER_USER)
            return self._db.execute(
                "INSERT INTO saved_filters (user_id, name, query, created_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (user_id, name) DO UPDATE SET query = excluded.query RETURNING id",
                [user_id, name, query, clock(now)]).fetchone()[0]

    def of(self, user_id: int) -> list[SavedFilter]:
        """The user's saved filters by name."""
        return [SavedFilter(row["id"], row["name"], row["query"]) for row in self._db.query(
            "SELECT id, name, query FROM saved_filters WHERE user_id = ? ORDER BY name COLLATE NOCASE, id",
            [user_id])]

    def delete(self, user_id: int, filter_id: int) -> None:
        """NotFound unless it is one of this user's."""
        with write(self._db):
            if not self._db.execute("DELETE FROM saved_filters WHERE id = ? AND user_id = ?",
                                    [filter_id, user_id]).rowcount:
                raise NotFound(f"there is no saved filter {filter_id}")
