"""PBXs on other machines allowed to upload recordings: a name, a token (kept as its SHA-256: a
token is 256 random bits, so a plain hash is enough), the zone of its file names."""

from __future__ import annotations

import re

from appliance.errors import NotFound
from appliance.store.concern import Concern, clock
from appliance.store.db import first, write
from appliance.store.records import PbxSource

# A name shows up in folder names and the audit log: plain and short.
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")


def _source(row: dict) -> PbxSource:
    return PbxSource(id=row["id"], name=row["name"], timezone=row["timezone"], created_at=row["created_at"],
                     last_upload_at=row["last_upload_at"])


class PbxSources(Concern):
    def add(self, name: str, token_hash: str, timezone: str = "", now: float | None = None) -> PbxSource:
        if not _NAME.fullmatch(name):
            raise ValueError(f"a PBX name is 1-40 of a-z, 0-9, '-', '_' (it names a folder), got {name!r}")
        with write(self._db):
            if first(self._db.query("SELECT 1 FROM pbx_sources WHERE name = ?", [name])):
                raise ValueError(f"a PBX named {name!r} exists; revoke it first to give it a new token")
            self._db["pbx_sources"].insert({"name": name, "token_hash": token_hash, "timezone": timezone,
                                            "created_at": clock(now)})
            return self.by_name(name)

    def by_name(self, name: str) -> PbxSource:
        row = first(self._db.query("SELECT * FROM pbx_sources WHERE name = ?", [name]))
        if row is None:
            raise NotFound(f"no PBX named {name!r}")
        return _source(row)

    def by_token_hash(self, token_hash: str) -> PbxSource | None:
        row = first(self._db.query("SELECT * FROM pbx_sources WHERE token_hash = ?", [token_hash]))
        return _source(row) if row else None

    def all(self) -> list[PbxSource]:
        return [_source(row) for row in self._db.query("SELECT * FROM pbx_sources ORDER BY name")]

    def uploaded(self, source_id: int, now: float | None = None) -> None:
        with write(self._db):
            self._db.execute("UPDATE pbx_sources SET last_upload_at = ? WHERE id = ?", [clock(now), source_id])

    def revoke(self, name: str) -> None:
        with write(self._db):
            if not self._db.execute("DELETE FROM pbx_sources WHERE name = ?", [name]).rowcount:
                raise NotFound(f"no PBX named {name!r}")
