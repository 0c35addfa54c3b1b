"""Retention in SQL: the admin's policies, legal hold, the calls old enough to look at, and
removing a call's audio while its transcript stays.

Which policy applies to a call is decided in Python (appliance.ops.retention): patterns are
globs, as in the settings file, and the first matching policy wins.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from appliance.errors import NotFound
from appliance.store.audit import append as audit
from appliance.store.concern import Concern, clock
from appliance.store.db import first, write


@dataclass(frozen=True)
class RetentionPolicy:
    """Calls it matches lose their audio after `audio_days` and everything after
    `transcript_days` (None: kept). None in a pattern matches any call."""

    name: str
    direction: str | None = None  # "inbound", "outbound", "internal"
    number_pattern: str | None = None  # glob on the caller's or callee's number
    mailbox: str | None = None  # glob on the mailbox (voicemail) or extension (voice note)
    audio_days: int | None = None
    transcript_days: int | None = None
    id: int | None = None  # None for policies from the settings file


@dataclass(frozen=True)
class AgedCall:
    """What retention needs to know about a call."""

    id: int
    caller: str | None
    callee: str | None
    direction: str | None
    kind: str
    started: float  # unix seconds: the call's start, else when the appliance learnt of it
    has_audio: bool  # a transcribed recording still has its audio


# The start Asterisk gave us when SQLite can read it, else the moment we learnt of the call.
_STARTED = (
    "COALESCE(unixepoch(CASE WHEN c.started_at LIKE 'now' THEN NULL ELSE c.started_at END), c.created_at)"
)


def _audio_left(call: str) -> str:
    """The call's recordings whose audio retention may remove: transcribed, audio still there."""
    return (
        "SELECT r.id FROM recordings r JOIN transcripts t ON t.recording_id = r.id"
        f" WHERE r.call_id = {call} AND r.audio_deleted_at IS NULL"
    )


class Retention(Concern):
    def policies(self) -> list[RetentionPolicy]:
        return [
            RetentionPolicy(
                name=row["name"], direction=row["direction"], number_pattern=row["number_pattern"],
                mailbox=row["mailbox"], audio_days=row["audio_days"],
                transcript_days=row["transcript_days"], id=row["id"],
            )
            for row in self._db.query("SELECT * FROM retention_policies ORDER BY id")
        ]

    def add_policy(self, policy: RetentionPolicy) -> int:
        with write(self._db):
            return self._db["retention_policies"].insert({
                "name": policy.name, "direction": policy.direction,
                "number_pattern": policy.number_pattern, "mailbox": policy.mailbox,
                "audio_days": policy.audio_days, "transcript_days": policy.transcript_days,
                "created_at": time.time(),
            }).last_pk

    def delete_policy(self, policy_id: int) -> None:
        with write(self._db):
            if not self._db.execute("DELETE FROM retention_policies WHERE id = ?", [policy_id]).rowcount:
                raise NotFound(f"there is no retention policy {policy_id}")

    def set_legal_hold(self, call_id: int, hold: bool) -> None:
        with write(self._db):
            cursor = self._db.execute("UPDATE calls SET legal_hold = ? WHERE id = ?", [int(hold), call_id])
            if not cursor.rowcount:
                raise NotFound(f"there is no call {call_id}")

    def legal_hold(self, call_id: int) -> bool:
        row = first(self._db.query("SELECT legal_hold FROM calls WHERE id = ?", [call_id]))
        if row is None:
            raise NotFound(f"there is no call {call_id}")
        return bool(row["legal_hold"])

    def held_calls(self) -> list[int]:
        return [row["id"] for row in self._db.query("SELECT id FROM calls WHERE legal_hold ORDER BY id")]

    def aged_calls(self, started_before: float, after_id: int = 0, limit: int = 500) -> list[AgedCall]:
        """Calls not under legal hold that started before `started_before`, by id, in pages."""
        rows = self._db.query(
            f"SELECT c.id, c.caller, c.callee, c.direction, c.kind, {_STARTED} AS started,"
            f" EXISTS ({_audio_left('c.id')}) AS has_audio FROM calls c"
            f" WHERE NOT c.legal_hold AND c.id > ? AND {_STARTED} < ? ORDER BY c.id LIMIT ?",
            [after_id, started_before, limit],
        )
        return [AgedCall(row["id"], row["caller"], row["callee"], row["direction"], row["kind"],
                         row["started"], bool(row["has_audio"])) for row in rows]

    def delete_audio(self, call_id: int, actor: str | None, detail: str, now: float | None = None) -> tuple[str, ...]:
        """Mark the call's transcribed recordings as without audio, with the audit entry, in one
        transaction; returns their files, to remove afterwards. Nothing for a call on hold."""
        now = clock(now)
        with write(self._db):
            if self.legal_hold(call_id):
                return ()
            recordings = _audio_left(":call")
            paths = tuple(
                row["path"] for row in self._db.query(
                    f"SELECT path FROM recording_files WHERE recording_id IN ({recordings})"
                    " ORDER BY recording_id, position", {"call": call_id})
            )
            if not paths:
                return ()
            self._db.execute(f"UPDATE recordings SET audio_deleted_at = :now WHERE id IN ({recordings})",
                       {"call": call_id, "now": now})
            audit(self._db, actor, "retention-audio", f"call {call_id}", detail, now)
            return paths

    def audio_deleted(self, call_id: int) -> bool:
        """True when retention removed the call's audio (its transcript stays)."""
        row = first(self._db.query(
            "SELECT max(audio_deleted_at) IS NOT NULL AS gone FROM recordings WHERE call_id = ?"
            " AND id = (SELECT max(id) FROM recordings WHERE call_id = ?)", [call_id, call_id]))
        return bool(row and row["gone"])


