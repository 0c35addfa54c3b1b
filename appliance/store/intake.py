"""Recordings in: one call row per Asterisk uniqueid, one recording and one job per file set."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from pathlib import Path

from sqlite_utils import Database

from appliance.store import fts
from appliance.store.concern import Concern
from appliance.store.db import first, write
from appliance.store.records import EnqueueResult
from appliance.transcript.model import CallMeta

# The CallMeta fields a later enqueue may fill in when an earlier one left them empty.
_FILLABLE = ("linkedid", "caller", "callee", "direction", "started_at")


def _meta_fields(meta: CallMeta) -> dict:
    # Asterisk hands over "" for an unknown number; store that as unknown so it can be filled.
    fields = {name: getattr(meta, name) or None for name in ("uniqueid", *_FILLABLE)}
    fields["kind"] = meta.kind or "call"
    return fields


class Intake(Concern):
    def enqueue(self, meta: CallMeta, paths: Sequence[Path | str], options: dict | None = None) -> EnqueueResult:
        with write(self._db):
            return _enqueue(self._db, meta, paths, options, time.time())

    def was_imported(self, system: str, source: str) -> bool:
        return first(self._db.query("SELECT 1 FROM imported_sources WHERE system = ? AND source = ?", [system, source])) is not None

    def imported_call(self, system: str, source: str) -> int | None:
        """The call a source was imported as (it may since have been deleted here), or None."""
        row = first(self._db.query("SELECT call_id FROM imported_sources WHERE system = ? AND source = ?", [system, source]))
        return row["call_id"] if row else None

    def enqueue_import(self, system: str, source: str, meta: CallMeta, paths: Sequence[Path | str],
                       options: dict | None = None) -> EnqueueResult:
        """enqueue() for a copy of another system's recording, remembering `source` as imported,
        in one transaction."""
        now = time.time()
        with write(self._db):
            result = _enqueue(self._db, meta, paths, options, now)
            self._db.execute("INSERT OR IGNORE INTO imported_sources (system, source, call_id, imported_at) VALUES (?, ?, ?, ?)",
                       [system, source, result.call_id, now])
            return result

    def rename_sources(self, system: str, prefix: str, new_system: str, new_prefix: str) -> None:
        """Remember the sources of `system` under `prefix` as `new_system`'s under `new_prefix`
        (a tree now known by another name)."""
        with write(self._db):
            self._db.execute(
                "UPDATE OR IGNORE imported_sources SET system = ?, source = ? || substr(source, ?)"
                " WHERE system = ? AND substr(source, 1, ?) = ?",
                [new_system, new_prefix, len(prefix) + 1, system, len(prefix), prefix])

    def known_paths(self) -> set[str]:
        """Files the spool sweep leaves alone: those of every recording, and of deleted calls."""
        return {
            row["path"]
            for row in self._db.query("SELECT path FROM recording_files UNION SELECT path FROM deleted_files")
        }


def _enqueue(db: Database, meta: CallMeta, paths: Sequence[Path | str], options: dict | None, now: float
             ) -> EnqueueResult:
    # abspath, not resolve(): a spool path reached through a symlink stays the path we were given.
    files = [os.path.abspath(os.fspath(path)) for path in paths]
    if not files or len(set(files)) != len(files):
        raise ValueError(f"a recording needs one or more distinct files, got {files!r}")
    fields = _meta_fields(meta)
    known = first(
        db.query(
            "SELECT r.id, r.call_id, j.id AS job_id FROM recording_files f"
            " JOIN recordings r ON r.id = f.recording_id JOIN jobs j ON j.recording_id = r.id"
            f" WHERE f.path IN ({', '.join('?' * len(files))}) LIMIT 1",
            files,
        )
    )
    if known:
        # The hook's ticket and the spool sweep may both report one file; the second
        # report may carry the metadata the first lacked.
        _fill_call(db, known["call_id"], fields)
        return EnqueueResult(known["call_id"], known["id"], known["job_id"], created=False)

    call = first(db.query("SELECT id FROM calls WHERE uniqueid = ?", [fields["uniqueid"]]))
    if call:
        call_id = call["id"]
        _fill_call(db, call_id, fields)
    else:
        call_id = db["calls"].insert({**fields, "created_at": now}).last_pk
    recording_id = (
        db["recordings"]
        .insert({"call_id": call_id, "options": json.dumps(options or {}), "created_at": now})
        .last_pk
    )
    db["recording_files"].insert_all(
        {"recording_id": recording_id, "position": position, "path": path}
        for position, path in enumerate(files)
    )
    job_id = (
        db["jobs"]
        .insert(
            {
                "recording_id": recording_id,
                "state": "queued",
                "not_before": now,
                "created_at": now,
                "updated_at": now,
            }
        )
        .last_pk
    )
    return EnqueueResult(call_id, recording_id, job_id, created=True)


def _fill_call(db: Database, call_id: int, fields: dict) -> None:
    assignments = ", ".join(f"{name} = COALESCE({name}, :{name})" for name in _FILLABLE)
    db.execute(
        f"UPDATE calls SET {assignments},"
        # Take the uniqueid only if no other call has it; conflicting reports keep the first.
        " uniqueid = COALESCE(uniqueid,"
        "   (SELECT :uniqueid WHERE NOT EXISTS (SELECT 1 FROM calls WHERE uniqueid = :uniqueid)))"
        " WHERE id = :id",
        {**fields, "id": call_id},
    )
    # Numbers learnt after the transcript was stored must still be searchable. (The schema's
    # triggers keep calls.caller_digits/callee_digits and call_numbers in step.)
    call = first(db.query("SELECT caller, callee FROM calls WHERE id = ?", [call_id]))
    fts.update(
        db,
        call,
        "SELECT t.id FROM turns t JOIN transcripts tr ON tr.id = t.transcript_id"
        " JOIN recordings r ON r.id = tr.recording_id WHERE r.call_id = :id",
        {"id": call_id},
    )


