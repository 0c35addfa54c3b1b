"""Phrase alerts: the phrases an admin watches for ("kündigen", "Anwalt") and the calls that
contain one (appliance.analytics.phrases finds them).

Each call's newest transcript is checked once, and again after a correction (store/edits.py
drops the check: a hit corrected away goes, a corrected-in one comes). A phrase added later applies to
calls checked from then on. A call that gets a hit of a phrase marked `notify` for the first
time queues a "phrase.alert" for every enabled webhook that opted in (its "alerts" field) and a
mail to each of the rule's recipients (store/alert_mail.py), in the same transaction, once per
call and webhook, once per call and recipient.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from appliance.errors import BadInput
from appliance.store import alert_mail, webhooks
from appliance.store.concern import Concern, clock
from appliance.store.db import write
from appliance.store.users import LOCALES

MAX_PHRASE = 80
MAX_RECIPIENTS = 10
ALERT_EVENT = "phrase.alert"
# A plain address, local@domain: no display name, no spaces, commas or angle brackets, so one
# address is one recipient and nothing else goes into the mail's header.
_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[^\W_](?:[\w-]*[^\W_])?(?:\.[^\W_](?:[\w-]*[^\W_])?)*")


@dataclass(frozen=True)
class PhraseRule:
    id: int
    phrase: str
    notify: bool  # a new hit notifies the opted-in webhooks and mails `mail_to`
    mail_to: tuple[str, ...] = ()
    mail_language: str = "en"  # the language of the alert mail: "en" or "de"


@dataclass(frozen=True)
class PhraseHit:
    rule_id: int
    phrase: str
    speaker: int
    at_seconds: float  # where it was said first in the call


def clean_phrase(phrase: str) -> str:
    """The phrase as it is kept (inner spaces one); BadInput unless 1 to MAX_PHRASE printable."""
    phrase = " ".join(phrase.split())
    if not phrase or len(phrase) > MAX_PHRASE or not phrase.isprintable():
        raise BadInput(f"a phrase has 1 to {MAX_PHRASE} printable characters", "phrase", most=MAX_PHRASE)
    return phrase


class Alerts(Concern):
    """`store.alerts`."""

    def rules(self) -> list[PhraseRule]:
        return [PhraseRule(row["id"], row["phrase"], bool(row["notify"]), tuple(json.loads(row["mail_to"])),
                           row["mail_language"])
                for row in self._db.query("SELECT * FROM phrase_rules ORDER BY phrase")]

    def add_rule(self, phrase: str, notify: bool = False, mail_to=(), mail_language: str = "en",
                 now: float | None = None) -> PhraseRule:
        phrase = clean_phrase(phrase)
        mail_to, mail_language = _mail(mail_to, mail_language)
        with write(self._db):
            # Matching ignores case (Python's casefold, which SQLite's NOCASE does not do for "Ü").
            if any(known.casefold() == phrase.casefold()
                   for known, in self._db.execute("SELECT phrase FROM phrase_rules")):
                raise BadInput(f"the phrase {phrase!r} is watched already", "phrase-known", phrase=phrase)
            row_id = self._db.execute(
                "INSERT INTO phrase_rules (phrase, notify, mail_to, mail_language, created_at) VALUES (?, ?, ?, ?, ?)",
                [phrase, int(notify), json.dumps(mail_to), mail_language, clock(now)]).lastrowid
        return PhraseRule(row_id, phrase, notify, mail_to, mail_language)

    def set_mail(self, rule_id: int, mail_to, mail_language: str) -> None:
        """Who a rule's alert mails go to, and in which language (calls mailed already stay so)."""
        mail_to, mail_language = _mail(mail_to, mail_language)
        with write(self._db):
            self._db.execute("UPDATE phrase_rules SET mail_to = ?, mail_language = ? WHERE id = ?",
                             [json.dumps(mail_to), mail_language, rule_id])

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
        last check's; returns how many webhook alerts and alert mails were queued."""
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
            if not notifying:
                return 0
            return (webhooks.queue_call(self._db, call_id, now, ALERT_EVENT, "alerts")
                    + alert_mail.queue(self._db, call_id, new, now))

    def of_call(self, call_id: int) -> list[PhraseHit]:
        """The call's hits, in the order they were said (NotFound out of scope); the webhook
        deliverer's store sees every call."""
        self._require_visible(call_id)
        return [PhraseHit(*row) for row in self._db.execute(
            "SELECT h.rule_id, r.phrase, h.speaker, h.at_seconds FROM phrase_hits h"
            " JOIN phrase_rules r ON r.id = h.rule_id WHERE h.call_id = ? ORDER BY h.at_seconds", [call_id])]

    def mailed(self, call_id: int, recipient: str) -> tuple[str, list[PhraseHit]]:
        """What an alert mail to `recipient` tells: its language (the first phrase's rule's) and
        the call's hits of the notifying rules that name the recipient, in the order they were said."""
        rows = self._db.execute(
            """SELECT h.rule_id, r.phrase, h.speaker, h.at_seconds, r.mail_language FROM phrase_hits h
            JOIN phrase_rules r ON r.id = h.rule_id WHERE h.call_id = ? AND r.notify
            AND EXISTS (SELECT 1 FROM json_each(r.mail_to) WHERE value = ?) ORDER BY h.at_seconds""",
            [call_id, recipient]).fetchall()
        return (rows[0][4] if rows else "en"), [PhraseHit(*row[:4]) for row in rows]


def _mail(mail_to, language: str) -> tuple[tuple[str, ...], str]:
    """The recipients, each a plain address (no duplicates), and a language the mail speaks."""
    recipients = tuple(dict.fromkeys(address.strip() for address in mail_to if address.strip()))
    for address in recipients:
        if len(address) > 254 or not _ADDRESS.fullmatch(address):
            raise BadInput(f"{address!r} is not an e-mail address", "mail-address", address=address[:80])
    if len(recipients) > MAX_RECIPIENTS:
        raise BadInput(f"at most {MAX_RECIPIENTS} recipients per phrase", "mail-count", most=MAX_RECIPIENTS)
    if language not in LOCALES:
        raise BadInput(f"an alert mail is in {' or '.join(LOCALES)}, not {language!r}", "mail-language")
    return recipients, language
