"""Failed logins, counted per key ("user:alice", "ip:10.0.0.5") so the web can slow guessing."""

from __future__ import annotations

from sqlite_utils import Database

from appliance.store.db import write

# Failures older than this are forgotten when a new one is recorded; no throttle looks further
# back, and the table cannot grow without bound under a guessing attack.
KEEP_SECONDS = 24 * 3600.0


def record_failure(db: Database, key: str, now: float) -> None:
    with write(db):
        db.execute("DELETE FROM login_failures WHERE at < ?", [now - KEEP_SECONDS])
        db.execute("INSERT INTO login_failures (key, at) VALUES (?, ?)", [key, now])


def failures_since(db: Database, key: str, since: float) -> int:
    return db.execute(
        "SELECT count(*) FROM login_failures WHERE key = ? AND at >= ?", [key, since]
    ).fetchone()[0]


def clear_failures(db: Database, key: str) -> None:
    with write(db):
        db.execute("DELETE FROM login_failures WHERE key = ?", [key])
