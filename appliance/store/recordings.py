"""A call's recording as the web plays it: the latest recording's files and decode options."""

from __future__ import annotations

import json

from appliance.errors import NotFound
from appliance.store.concern import Concern
from appliance.store.db import first

_LATEST = "SELECT max(id) FROM recordings WHERE call_id = ?"


class Recordings(Concern):
    def files(self, call_id: int) -> tuple[str, ...]:
        """Paths in position order: one file, or a MixMonitor r()/t() pair."""
        self._require_visible(call_id)
        paths = tuple(
            row["path"]
            for row in self._db.query(
                f"SELECT path FROM recording_files WHERE recording_id = ({_LATEST})"
                " ORDER BY position",
                [call_id],
            )
        )
        if not paths:
            raise NotFound(f"call {call_id} has no recording")
        return paths

    def options(self, call_id: int) -> dict:
        self._require_visible(call_id)
        row = first(self._db.query(f"SELECT options FROM recordings WHERE id = ({_LATEST})", [call_id]))
        if row is None:
            raise NotFound(f"call {call_id} has no recording")
        return json.loads(row["options"])


