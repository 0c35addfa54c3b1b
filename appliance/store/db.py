"""The SQLite connection the store runs on: WAL, a 30 s busy timeout, foreign keys, migrations.

Several worker processes share one file, so every state change is one transaction that takes
the write lock up front (BEGIN IMMEDIATE): a deferred transaction that reads and then writes
can fail with SQLITE_BUSY halfway, and two of them could both act on what they read.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlite_utils import Database

from appliance.errors import ApplianceError
from appliance.filemodes import DATABASE, narrow, private_file
from appliance.store.schema import MIGRATIONS

BUSY_TIMEOUT_SECONDS = 30.0


def connect(path: Path | str) -> Database:
    # The file exists 0600 before SQLite opens it: SQLite gives its -wal and -shm the database
    # file's permissions. An older install's wider files are narrowed here.
    private_file(Path(path))
    # isolation_level=None: the driver opens no implicit transactions, so the only ones are
    # ours (and sqlite-utils' savepoints, which nest inside them).
    conn = sqlite3.connect(
        str(path), timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None, check_same_thread=False
    )
    try:
        conn.execute("PRAGMA foreign_keys = ON")
        _enable_wal(conn)
        migrate(conn)
        for suffix in ("-wal", "-shm"):
            narrow(Path(f"{path}{suffix}"), DATABASE)
        return Database(conn, execute_plugins=False)
    except BaseException:
        conn.close()
        raise


def _enable_wal(conn: sqlite3.Connection) -> None:
    # Switching a fresh file to WAL needs an exclusive lock, and SQLite answers SQLITE_BUSY at
    # once instead of calling the busy handler, so processes opening a new file together retry.
    deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode != sqlite3.SQLITE_BUSY or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _user_version(conn: sqlite3.Connection) -> int:
    return conn.execute("PRAGMA user_version").fetchone()[0]


def _check_not_newer(version: int, path: str) -> None:
    if version > len(MIGRATIONS):
        raise ApplianceError(
            f"database {path} has schema version {version}, newer than this appliance "
            f"understands ({len(MIGRATIONS)}): upgrade the appliance or use another data_dir"
        )


def migrate(conn: sqlite3.Connection) -> None:
    """Apply the missing steps; safe when several processes open a fresh file at once."""
    path = conn.execute("PRAGMA database_list").fetchone()[2]
    version = _user_version(conn)
    _check_not_newer(version, path)
    if version == len(MIGRATIONS):
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        # Read again under the write lock: another process may have migrated while we waited.
        version = _user_version(conn)
        _check_not_newer(version, path)
        for number, step in enumerate(MIGRATIONS[version:], start=version + 1):
            for statement in step:
                if callable(statement):
                    statement(conn)
                else:
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


@contextmanager
def write(db: Database) -> Iterator[Database]:
    """One write transaction holding the database's write lock from its first statement.

    Inside another write it joins that one (store.audit.entry wraps a change and its audit row),
    so both commit or roll back together.
    """
    if db.conn.in_transaction:
        yield db
        return
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
        db.conn.execute("COMMIT")
    except BaseException:
        # Also after a failed COMMIT (disk full), which can leave the transaction open.
        if db.conn.in_transaction:
            db.conn.execute("ROLLBACK")
        raise


@contextmanager
def read(db: Database) -> Iterator[Database]:
    """One read snapshot, for answers assembled from several queries (WAL readers never block)."""
    db.conn.execute("BEGIN")
    try:
        yield db
    finally:
        if db.conn.in_transaction:
            db.conn.execute("COMMIT")


@dataclass(frozen=True)
class QueryPlan:
    """One read the store ran (its SQL with the values bound) and SQLite's plan for it."""

    sql: str
    steps: tuple[tuple[int, str], ...]  # (depth, detail) in EXPLAIN QUERY PLAN's order


@contextmanager
def query_plans(db: Database) -> Iterator[list[QueryPlan]]:
    """The plans of the reads run inside the block, filled in when it ends.

    Taken from the statements SQLite actually ran, so a benchmark shows the plans of the
    store's queries however its code builds them.
    """
    statements: list[str] = []
    db.conn.set_trace_callback(statements.append)
    plans: list[QueryPlan] = []
    try:
        yield plans
    finally:
        db.conn.set_trace_callback(None)
    for sql in dict.fromkeys(statements):  # each distinct statement once, in order
        if sql.lstrip().upper().startswith(("SELECT", "WITH")):
            plans.append(QueryPlan(sql, _plan_steps(db.conn, sql)))


def _plan_steps(conn: sqlite3.Connection, sql: str) -> tuple[tuple[int, str], ...]:
    depth: dict[int, int] = {}
    steps = []
    for node, parent, _unused, detail in conn.execute("EXPLAIN QUERY PLAN " + sql):
        depth[node] = depth.get(parent, -1) + 1
        steps.append((depth[node], detail))
    return tuple(steps)


def first(rows: Iterator[dict]) -> dict | None:
    return next(iter(rows), None)
