"""Helpers for the store tests: put finished calls in, count rows behind the store's back."""

import sqlite3

from appliance.store import EnqueueResult, Store
from appliance.transcript.model import CallMeta, Speaker, Transcript, Turn

CALLER_AND_CALLEE = (Speaker(0, "Caller", "caller"), Speaker(1, "Agent", "callee"))

# Every table a call leaves rows in (the FTS5 index counts through its own table).
CALL_TABLES = (
    "calls",
    "recordings",
    "recording_files",
    "jobs",
    "transcripts",
    "speakers",
    "turns",
    "turns_fts",
    "call_changes",
)


def finished_call(
    store: Store,
    folder,
    meta: CallMeta,
    lines: list[tuple[int, str]],
    speakers: tuple[Speaker, ...] = CALLER_AND_CALLEE,
) -> EnqueueResult:
    """Enqueue one file for `meta`, claim its job and finish it with these (speaker, text) turns."""
    result = store.intake.enqueue(meta, [folder / f"{meta.uniqueid}.raw"], {"channels": 2})
    job = store.jobs.claim("w", 60)
    assert job.id == result.job_id, "finish the calls one by one"
    turns = tuple(
        Turn(speaker, i * 2.0, i * 2.0 + 1.5, text) for i, (speaker, text) in enumerate(lines)
    )
    transcript = Transcript("de", "fw", "base", 2.0 * len(lines), speakers, turns, meta)
    assert store.jobs.finish(job.id, "w", transcript)
    return result


def row_counts(store: Store) -> dict[str, int]:
    """Rows per table of CALL_TABLES, read on a connection of its own."""
    conn = sqlite3.connect(store.path)
    try:
        return {
            table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in CALL_TABLES
        }
    finally:
        conn.close()
