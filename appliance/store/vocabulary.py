"""Site vocabulary: names and terms the recogniser should get right (passed on as hotwords)."""

from __future__ import annotations

import time

from appliance.errors import BadInput
from appliance.store.concern import Concern
from appliance.store.db import write


class Vocabulary(Concern):
    def all(self) -> list[str]:
        return [row["term"] for row in self._db.query("SELECT term FROM vocabulary ORDER BY term")]

    def add(self, term: str) -> None:
        """Add a term; adding one already there (in any letter case) changes nothing."""
        term = " ".join(term.split())
        if not term:
            raise BadInput("a vocabulary term needs at least one visible character")
        with write(self._db):
            self._db.execute("INSERT OR IGNORE INTO vocabulary (term, created_at) VALUES (?, ?)", [term, time.time()])

    def remove(self, term: str) -> None:
        with write(self._db):
            self._db.execute("DELETE FROM vocabulary WHERE term = ?", [" ".join(term.split())])
