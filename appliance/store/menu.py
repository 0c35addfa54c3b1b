"""The voice menu's log: what the caller said or pressed at each try, and where it led."""

from __future__ import annotations

from dataclasses import dataclass

from appliance.store import scopes
from appliance.store.concern import Concern
from appliance.store.db import write


@dataclass(frozen=True)
class MenuInteraction:
    """One try in a voice menu. `choice` is None for a miss, "operator" after the last miss."""

    uniqueid: str  # the caller's channel (Asterisk's ${UNIQUEID}, ARI's channel id)
    linkedid: str | None
    menu: str
    attempt: int  # 1, 2, ...
    via: str  # "speech", "dtmf" or "silence"
    heard: str | None  # the recognised text (speech) or the key (dtmf)
    choice: str | None
    destination: str | None  # EXTENSION@CONTEXT the call went to
    confidence: float | None
    engine: str | None
    answer_seconds: float | None  # from the start of the prompt to the end of the answer
    decision_ms: float | None  # from the end of the utterance to the decision
    at: float

_COLUMNS = ("uniqueid", "linkedid", "menu", "attempt", "via", "heard", "choice", "destination",
            "confidence", "engine", "answer_seconds", "decision_ms", "at")


class MenuLog(Concern):
    def log(self, entry: MenuInteraction) -> int:
        with write(self._db):
            cursor = self._db.execute(
                f"INSERT INTO menu_interactions ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' for _ in _COLUMNS)})",
                [getattr(entry, name) for name in _COLUMNS])
            return cursor.lastrowid

    def of_call(self, call_id: int) -> list[MenuInteraction]:
        """The menu tries of a call in this scope, in order: matched on the recorded channel's
        uniqueid, or on the linkedid when the recording ran on another leg of the same call."""
        if not scopes.visible(self._db, self.scope, call_id):
            return []
        rows = self._db.query(
            f"""SELECT {', '.join('m.' + c for c in _COLUMNS)} FROM calls c JOIN menu_interactions m
                ON m.uniqueid = c.uniqueid OR (c.linkedid IS NOT NULL AND m.linkedid = c.linkedid)
                WHERE c.id = ? ORDER BY m.at, m.id""",
            [call_id])
        return [MenuInteraction(**row) for row in rows]

    def of_channel(self, uniqueid: str) -> list[MenuInteraction]:
        rows = self._db.query(
            f"SELECT {', '.join(_COLUMNS)} FROM menu_interactions WHERE uniqueid = ? ORDER BY at, id", [uniqueid])
        return [MenuInteraction(**row) for row in rows]
