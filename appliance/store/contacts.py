"""The address book: a name for a number or an extension, applied to every call of that number.

A contact is keyed by the number's digits (NUMBER_PUNCTUATION ignored, as the number filter
does), so "+49 30 1234567" and "+49301234567" are one contact. A name reaches a call through its
speakers: the caller's or callee's speaker (a voicemail's one speaker is its caller) still
labelled with the number as written (or with the contact's previous name) takes the name, in the transcript and in search, for past calls
when the contact is saved and for future ones when their transcript is stored. A speaker that a
person renamed to something else keeps that name.

The LAN CRM's names (source "crm", from a name-source webhook's answers) only fill gaps: they
replace an earlier CRM name, never one from another source (a person typed, uploaded or
imported it).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlite_utils import Database

from appliance.errors import BadInput, NotAllowed
from appliance.store import fts
from appliance.store.concern import Concern, clock
from appliance.store.db import read, write
from appliance.store.filters import number_digits

SOURCES = ("manual", "csv", "phones", "call", "crm")
MAX_NAME = 80
MAX_NUMBER = 40


@dataclass(frozen=True)
class Contact:
    digits: str
    number: str  # as first written
    name: str
    source: str  # one of SOURCES
    updated_at: float


def clean(number: str, name: str) -> tuple[str, str, str]:
    """(digits, number, name) tidied; BadInput (a ValueError) for a number or name a person must fix."""
    number, name = " ".join((number or "").split()), " ".join((name or "").split())
    digits = number_digits(number)
    if not digits or len(number) > MAX_NUMBER or not all(ch.isascii() and (ch.isdigit() or ch in "+*#") for ch in digits):
        raise BadInput(f"{number!r} is not a phone number or extension")
    if not name or len(name) > MAX_NAME or not name.isprintable():
        raise BadInput(f"a name needs 1 to {MAX_NAME} printable characters")
    return digits, number, name


class Contacts(Concern):
    def save(self, entries: Iterable[tuple[str, str]], source: str = "manual", now: float | None = None) -> int:
        """Add or rename contacts ((number, name) each, already clean()-able) and relabel every
        call of theirs; returns how many contacts changed. One transaction: all or nothing. It
        reaches calls beyond any one user's scope: NotAllowed unless this scope sees every call
        and may edit. A "crm" entry leaves a contact from any other source as it is."""
        if not (self.scope.everything and self.scope.may_edit):
            raise NotAllowed("only users who see and may edit every call can name a number for all its calls")
        now = clock(now)
        changed = 0
        with write(self._db):
            for number, name in entries:
                digits, number, name = clean(number, name)
                old = self._db.execute("SELECT name, source FROM contacts WHERE digits = ?", [digits]).fetchone()
                if old and source == "crm" and old[1] != "crm":
                    continue  # the CRM fills gaps; a person's name stays
                if old and old[0] == name and (old[1] != "crm" or source == "crm"):
                    continue  # the same name (a person confirming the CRM's makes it theirs, below)
                self._db.execute(
                    """INSERT INTO contacts (digits, number, name, source, updated_at) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT (digits) DO UPDATE SET name = excluded.name, source = excluded.source,
                      updated_at = excluded.updated_at""",
                    [digits, number, name, source, now])
                _relabel(self._db, digits, name, old[0] if old else None)
                changed += 1
        return changed

    def delete(self, digits: str) -> bool:
        """Forget a contact; calls keep the name they were given (a person may have confirmed it)."""
        with write(self._db):
            return self._db.execute("DELETE FROM contacts WHERE digits = ?", [digits]).rowcount > 0

    def all(self) -> list[Contact]:
        with read(self._db):
            return [Contact(*row) for row in self._db.execute(
                "SELECT digits, number, name, source, updated_at FROM contacts ORDER BY name COLLATE NOCASE, digits")]

    def names(self, numbers: Iterable[str | None]) -> dict[str, str]:
        """The contact name of each of these numbers (as written) that has one."""
        wanted = {number: number_digits(number) for number in numbers if number}
        if not wanted:
            return {}
        marks = ", ".join("?" for _ in set(wanted.values()))
        found = dict(self._db.execute(f"SELECT digits, name FROM contacts WHERE digits IN ({marks})",
                                list(set(wanted.values()))).fetchall())
        return {number: found[digits] for number, digits in wanted.items() if digits in found}


def _relabel(db: Database, digits: str, name: str, old: str | None, transcript_id: int | None = None) -> None:
    """Give `name` to the calls' speakers of that number still labelled with the number or `old`."""
    only = "AND t.id = :transcript" if transcript_id is not None else ""
    speakers = db.execute(
        f"""SELECT s.transcript_id, s.idx, s.role FROM speakers s
        JOIN transcripts t ON t.id = s.transcript_id JOIN recordings r ON r.id = t.recording_id
        JOIN calls c ON c.id = r.call_id
        WHERE ((s.role IN ('caller', 'speaker') AND c.caller_digits = :digits AND s.label IN (c.caller, :old))
            OR (s.role = 'callee' AND c.callee_digits = :digits AND s.label IN (c.callee, :old))) {only}""",
        {"digits": digits, "old": old, "transcript": transcript_id}).fetchall()
    for transcript, index, _role in speakers:
        db.execute("UPDATE speakers SET label = ? WHERE transcript_id = ? AND idx = ?", [name, transcript, index])
        fts.update(db, {"speaker": name},
                   "SELECT id FROM turns WHERE transcript_id = :transcript AND speaker = :index",
                   {"transcript": transcript, "index": index})


def apply_to_transcript(db: Database, transcript_id: int) -> None:
    """Name a newly stored transcript's caller and callee from the address book (the caller
    holds the write transaction, after the turns' full-text rows are in)."""
    rows = db.execute(
        """SELECT k.digits, k.name FROM transcripts t JOIN recordings r ON r.id = t.recording_id
        JOIN calls c ON c.id = r.call_id JOIN contacts k ON k.digits IN (c.caller_digits, c.callee_digits)
        WHERE t.id = ?""", [transcript_id]).fetchall()
    for digits, name in rows:
        _relabel(db, digits, name, None, transcript_id)


