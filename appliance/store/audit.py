"""The audit log: who listened, exported, deleted, searched or logged in, and when.

Entries name what was touched (`target`, e.g. "call 12"); like every log here they should not
carry what was said. Rows are only ever added: triggers refuse UPDATE and DELETE, this module
offers neither, and each row's hash chains it to the one before (appliance/store/chain.py).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from sqlite_utils import Database

from appliance.store.chain import CHAINED, row_hash
from appliance.store.concern import Concern, clock
from appliance.store.db import first, write
from appliance.store.filters import where_clause
from appliance.store.records import AuditEntry, AuditFilter, ChainCheck


def append(db: Database, actor: str | None, action: str, target: str | None, detail: str | None,
           now: float) -> None:
    """Add an entry; inside a write transaction it commits (or not) with what it records (also
    the one retention.delete_audio writes)."""
    with write(db):
        # Under the write lock: no other writer can take the same id or chain link.
        last = first(db.query("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1"))
        row = {"id": (last["id"] if last else 0) + 1, "at": now, "actor": actor, "action": action,
               "target": target, "detail": detail}
        row["hash"] = row_hash(last["hash"] if last else None, row)
        db.execute(
            "INSERT INTO audit_log (id, at, actor, action, target, detail, hash)"
            " VALUES (:id, :at, :actor, :action, :target, :detail, :hash)", row,
        )


def _where(wanted: AuditFilter) -> tuple[str, dict]:
    conditions = [
        condition
        for condition, value in (
            ("action = :action", wanted.action), ("actor = :actor", wanted.actor),
            ("at >= :since", wanted.since), ("at < :until", wanted.until),
            ("target = :target", wanted.target),
        )
        if value is not None
    ]
    return where_clause(conditions), wanted.__dict__


class AuditLog(Concern):
    def add(self, actor: str | None, action: str, target: str | None = None, detail: str | None = None,
            now: float | None = None) -> None:
        append(self._db, actor, action, target, detail, clock(now))

    @contextlib.contextmanager
    def entry(self, actor: str | None, action: str, target: str | None = None, detail: str | None = None,
              now: float | None = None) -> Iterator[None]:
        """The store calls inside, and their audit entry, as one transaction: the entry is
        written when the block ends without an error, and a crash loses both or neither."""
        with self._lock, write(self._db):
            yield
            append(self._db, actor, action, target, detail, clock(now))

    def entries(self, limit: int | None = 100, offset: int = 0, **wanted) -> list[AuditEntry]:
        """Newest first (limit None: all of them, an export), filtered by AuditFilter's fields
        (actor, action, since, until, target)."""
        clause, params = _where(AuditFilter(**wanted))
        rows = self._db.query(
            f"SELECT * FROM audit_log{clause} ORDER BY at DESC, id DESC LIMIT :limit OFFSET :offset",
            {**params, "limit": -1 if limit is None else limit, "offset": offset},
        )
        return [AuditEntry(**row) for row in rows]

    def count(self, **wanted) -> int:
        clause, params = _where(AuditFilter(**wanted))
        return self._db.execute(f"SELECT count(*) FROM audit_log{clause}", params).fetchone()[0]

    def verify(self) -> ChainCheck:
        """Walk the chain oldest first; the first row whose hash is not what it should be."""
        previous, count = None, 0
        rows: Iterator[dict] = self._db.query(f"SELECT {', '.join(CHAINED)}, hash FROM audit_log ORDER BY id")
        for row in rows:
            expected = row_hash(previous, row)
            if row["hash"] != expected:
                return ChainCheck(count, broken_id=row["id"])
            previous, count = expected, count + 1
        return ChainCheck(count)
