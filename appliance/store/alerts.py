"""Phrase alerts: the phrases an admin watches for ("kündigen", "Anwalt") and the calls that
contain one (appliance.analytics.phrases finds them).

Each call's newest transcript is checked once, and again after a correction (store/edits.py
drops the check: a hit corrected away goes, a corrected-in one comes). A phrase added later applies to
calls checked from then on. A call that gets a hit of a phrase marked `notify` for the first
time queues a "phrase.alert" for every enabled webhook that opted in (its "alerts" field), in the
same transaction, once per call and webhook.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from appliance.errors import BadInput
from appliance.store import webhooks
from appliance.store.concern import Concern, clock
from appliance.store.db import write

MAX_PHRASE = 80
ALERT_EVENT = "phrase.alert"


@dataclass(frozen=True)
class PhraseRule:
    id: int
    phrase: str
    notify: bool  # a new hit notifies the opted-in webhooks


@dataclass(frozen=True)
class PhraseHit:
    rule_id: int
    phrase: str
    speaker: int
    at_seconds: float  # where it was said first in the call


class Alerts(Concern):
    """`store.alerts`."""

    def rules(self) -> list[PhraseRule]:
        return [PhraseRule(row["id"], row["phrase"], bool(row["notify"]))
                for row in self._db.query("SELECT id, phrase, notify FROM phrase_rules ORDER BY phrase")]

    def add_rule(self, phrase: str, notify: bool = False, now: float | None = None) -> PhraseRule:
        phrase = " ".join(phrase.split())
        if not phrase or len(phrase) > MAX_PHRASE or not phrase.isprintable():
            raise BadInput(f"a phrase has 1 to {MAX_PHRASE} printable characters", "phrase", most=MAX_PHRASE)
        with write(self._db):
            # Matching ignores case (Python's casefold, which SQLite's NOCASE does not do for "Ü").
            if any(known.casefold() == phrase.casefold()
                   for known, in self._db.execute("SELECT phrase FROM phrase_rules")):
                raise BadInput(f"the phrase {phrase!r} is watched already", "phrase-known", phrase=phrase)
            row_id = self._db.execute("INSERT INTO phrase_rules (phrase, notify, created_at) VALUES (?, ?, ?)",
                                      [phrase, int(notify), clock(now)]).lastrowid
        return PhraseRule(row_id, phrase, notify)

    def delete_rule(self, rule_id: int) -> None:
        with write(self._db):
            self._db.execute("DELETE FROM phrase_rules WHERE id = ?", [rule_id])

    def pending(self, limit: int = 20) -> list[tuple[int, int]]:
        """(call id, transcript id) of calls whose newest transcript is not checked yet, oldest first."""
        rows = self._db.execute(
            """SELECT r.call_id, max(t.id) AS newest FROM transcripts t JOIN recordings r ON r.id = t.recording_id
            GROUP BY r.call_id
            HAVING NOT EXISTS (SELECT 1 FROM phrase_checks p WHERE p.call_id = r.call_id AND p.transcript_id = newest)
            ORDER BY newest LIMIT ?""", [limit]).fetchall()
        return [(call_id, transcript_id) for call_id, transcript_id in rows]

    def save(self, call_id: int, transcript_id: int, hits: list[tuple[int, int, float]],
             now: float | None = None) -> int:
        """The call's hits ((rule id, speaker, seconds) each) for this transcript, replacing the
        last check's; returns how many webhook alerts were queued."""
        now = clock(now)
        with write(self._db):
            if not self._db.execute("SELECT 1 FROM calls WHERE id = ?", [call_id]).fetchone():
                return 0  # deleted while it was checked
            before = {row[0] for row in self._db.execute("SELECT rule_id FROM phrase_hits WHERE call_id = ?",
                                                         [call_id])}
            self._db.execute("DELETE FROM phrase_hits WHERE call_id = ?", [call_id])
            self._db.conn.executemany(
                "INSERT OR IGNORE INTO phrase_hits (call_id, rule_id, speaker, at_seconds)"
                " SELECT ?, id, ?, ? FROM phrase_rules WHERE id = ?",
                [(call_id, speaker, at, rule_id) for rule_id, speaker, at in hits])
            self._db.execute(
                "INSERT INTO phrase_checks (call_id, transcript_id, checked_at) VALUES (?, ?, ?)"
                " ON CONFLICT (call_id) DO UPDATE SET transcript_id = excluded.transcript_id,"
                " checked_at = excluded.checked_at", [call_id, transcript_id, now])
            new = {rule_id for rule_id, _, _ in hits} - before
            notifying = bool(new) and self._db.execute(
                "SELECT 1 FROM phrase_rules WHERE notify AND id IN (SELECT value FROM json_each(?))",
                [json.dumps(sorted(new))]).fetchone()
            return webhooks.queue_call(self._db, call_id, now, ALERT_EVENT, "alerts") if notifying else 0

    def of_call(self, call_id: int) -> list[PhraseHit]:
        """The call's hits, in the order they were said (NotFound out of scope); the webhook
        deliverer's store sees every call."""
        self._require_visible(call_id)
        return [PhraseHit(*row) for row in self._db.execute(
            "SELECT h.rule_id, r.phrase, h.speaker, h.at_seconds FROM phrase_hits h"
            " JOIN phrase_rules r ON r.id = h.rule_id WHERE h.call_id = ? ORDER BY h.at_seconds", [call_id])]
