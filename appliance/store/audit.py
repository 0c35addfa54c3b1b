"""The audit log: who listened, exported, deleted, searched or logged in, and when.

Entries name what was touched (`target`, e.g. "call:12"); like every log here they should not
carry what was said.
"""

from __future__ import annotations

from sqlite_utils import Database

from appliance.store.db import write
from appliance.store.filters import where_clause
from appliance.store.records import AuditEntry


def audit(
    db: Database, actor: str | None, action: str, target: str | None, detail: str | None, now: float
) -> None:
    with write(db):
        db.execute(
            "INSERT INTO audit_log (at, actor, action, target, detail) VALUES (?, ?, ?, ?, ?)",
            [now, actor, action, target, detail],
        )


def _where(action: str | None, actor: str | None) -> tuple[str, dict]:
    conditions = [
        condition
        for condition, value in (("action = :action", action), ("actor = :actor", actor))
        if value is not None
    ]
    return where_clause(conditions), {"action": action, "actor": actor}


def audit_log(
    db: Database, limit: int, offset: int, action: str | None, actor: str | None
) -> list[AuditEntry]:
    """Newest first."""
    clause, params = _where(action, actor)
    rows = db.query(
        f"SELECT * FROM audit_log{clause} ORDER BY at DESC, id DESC LIMIT :limit OFFSET :offset",
        {**params, "limit": limit, "offset": offset},
    )
    return [AuditEntry(**row) for row in rows]


def audit_count(db: Database, action: str | None, actor: str | None) -> int:
    clause, params = _where(action, actor)
    return db.execute(f"SELECT count(*) FROM audit_log{clause}", params).fetchone()[0]
