"""People's corrections of a transcript: a word fixed, a turn given to another speaker, a turn
split in two or merged with the next.

The call's newest transcript is changed in place, full-text rows included, so the page, search
and exports read the corrected text. The turns as transcribed are kept once, at the first edit
(transcript_originals), and every edit is a revision: who, when, what (before and after). The
call's insights, metrics and phrase check are dropped in the same transaction: the nlp and
analytics stages compute them again from the corrected text. Splits add turns and merges remove them, so calls.turn_count and the call's
turn-id range (search's day filter) are kept true here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlite_utils import Database

from appliance.errors import BadInput, NotFound
from appliance.store import fts, scopes
from appliance.store.concern import Concern, clock
from appliance.store.db import first, read, write
from appliance.transcript.model import Turn, Word
from appliance.transcript.turns import words_text

ACTIONS = ("word", "speaker", "split", "merge")
MAX_WORD = 80  # characters of one corrected word (or the few words it becomes)
SHOWN = 300  # characters of a revision's before and after


@dataclass(frozen=True)
class Revision:
    id: int
    transcript_id: int
    actor: str
    at: float
    action: str  # one of ACTIONS
    turn: int  # the turn's index when it was edited
    before: str
    after: str


def _head(db: Database, call_id: int) -> int:
    row = first(db.query(
        "SELECT max(t.id) AS id FROM transcripts t JOIN recordings r ON r.id = t.recording_id"
        " WHERE r.call_id = ?", [call_id]))
    if row is None or row["id"] is None:
        raise NotFound(f"call {call_id} has no transcript")
    return row["id"]


def _turns(db: Database, transcript_id: int) -> list[dict]:
    return list(db.query(
        "SELECT id, idx, speaker, start_time, end_time, text, words FROM turns"
        " WHERE transcript_id = ? ORDER BY idx", [transcript_id]))


def _words(row: dict) -> list[list]:
    return json.loads(row["words"])


def _short(text: str) -> str:
    return text if len(text) <= SHOWN else text[: SHOWN - 1] + "…"


class Edits(Concern):
    def edit(self, call_id: int, actor: str, action: str, turn: int, *, word: int | None = None,
             text: str | None = None, speaker: int | None = None, now: float | None = None) -> Revision:
        """One correction: apply one edit to the call's newest transcript and record it. ValueError for an edit
        that makes no sense (a word out of range, an empty word, a split at the turn's edge)."""
        self._require_edit(call_id)
        now = clock(now)
        if action not in ACTIONS:
            raise BadInput(f"an edit is one of {', '.join(ACTIONS)}")
        with write(self._db):
            transcript_id = _head(self._db, call_id)
            turns = _turns(self._db, transcript_id)
            if not 0 <= turn < len(turns):
                raise BadInput(f"the transcript has no turn {turn + 1}")
            self._db.execute(
                "INSERT OR IGNORE INTO transcript_originals (transcript_id, turns, kept_at) VALUES (?, ?, ?)",
                [transcript_id, json.dumps([{key: row[key] for key in ("speaker", "start_time", "end_time", "text", "words")}
                                            for row in turns]), now])
            row = turns[turn]
            if action == "word":
                before, after = _fix_word(self._db, row, word, text)
            elif action == "speaker":
                before, after = _reassign(self._db, transcript_id, row, speaker)
            elif action == "split":
                before, after = _split(self._db, call_id, transcript_id, turns, turn, word)
            else:
                before, after = _merge(self._db, call_id, transcript_id, turns, turn)
            revision_id = self._db.execute(
                "INSERT INTO transcript_revisions (transcript_id, actor, at, action, turn, before, after)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                [transcript_id, actor, now, action, turn, _short(before), _short(after)]).lastrowid
            # Keywords and summary were made from the old text: the nlp stage makes them again; so
            # does the analytics stage with the conversation metrics (a fixed word changes the word
            # count and the questions; a moved turn who spoke when); the phrase alerts are checked
            # again (store/alerts.py: a phrase corrected away goes, a corrected-in one comes).
            self._db.execute("DELETE FROM call_insights WHERE call_id = ?", [call_id])
            self._db.execute("DELETE FROM call_metrics WHERE call_id = ?", [call_id])
            self._db.execute("DELETE FROM phrase_checks WHERE call_id = ?", [call_id])
        return Revision(revision_id, transcript_id, actor, now, action, turn, _short(before), _short(after))

    def revisions(self, call_id: int) -> list[Revision]:
        """The edits of the call's newest transcript, newest first (none out of scope)."""
        if not scopes.visible(self._db, self.scope, call_id):
            return []
        with read(self._db):
            try:
                transcript_id = _head(self._db, call_id)
            except NotFound:
                return []
            return [Revision(r["id"], r["transcript_id"], r["actor"], r["at"], r["action"], r["turn"], r["before"], r["after"])
                    for r in self._db.query("SELECT * FROM transcript_revisions WHERE transcript_id = ? ORDER BY id DESC",
                                      [transcript_id])]

    def original_turns(self, call_id: int) -> tuple[Turn, ...] | None:
        """The turns as transcribed, if people corrected the transcript since; else (and out of
        scope) None."""
        if not scopes.visible(self._db, self.scope, call_id):
            return None
        with read(self._db):
            try:
                transcript_id = _head(self._db, call_id)
            except NotFound:
                return None
            row = first(self._db.query("SELECT turns FROM transcript_originals WHERE transcript_id = ?", [transcript_id]))
        if row is None:
            return None
        return tuple(Turn(t["speaker"], t["start_time"], t["end_time"], t["text"],
                          tuple(Word(*w) for w in json.loads(t["words"]))) for t in json.loads(row["turns"]))


def _set_text(db: Database, row_id: int, words: list[list], text: str | None = None, **columns) -> str:
    text = text or words_text([Word(*w) for w in words])
    sets = "".join(f", {column} = :{column}" for column in columns)
    db.execute(f"UPDATE turns SET words = :words, text = :text{sets} WHERE id = :id",
               {"words": json.dumps(words), "text": text, "id": row_id, **columns})
    fts.update(db, {"text": text}, "SELECT :turn_id", {"turn_id": row_id})
    return text


def _fix_word(db: Database, row: dict, index: int | None, text: str | None) -> tuple[str, str]:
    words = _words(row)
    if index is None or not 0 <= index < len(words):
        raise BadInput("that word is not in the turn")
    new = " ".join((text or "").split())
    if not new or len(new) > MAX_WORD:
        raise BadInput(f"a word needs 1 to {MAX_WORD} visible characters")
    old = words[index][2]
    # Whisper's words carry their own leading space; a fixed word keeps its old spacing and
    # counts as sure: a person has heard it.
    words[index] = [words[index][0], words[index][1], old[: len(old) - len(old.lstrip())] + new, 1.0]
    _set_text(db, row["id"], words)
    return old.strip(), new


def _label(db: Database, transcript_id: int, index: int) -> dict | None:
    return first(db.query("SELECT label, role FROM speakers WHERE transcript_id = ? AND idx = ?",
                          [transcript_id, index]))


def _reassign(db: Database, transcript_id: int, row: dict, speaker: int | None) -> tuple[str, str]:
    new = _label(db, transcript_id, speaker) if speaker is not None else None
    if new is None:
        raise BadInput("there is no such speaker in this call")
    old = _label(db, transcript_id, row["speaker"])
    db.execute("UPDATE turns SET speaker = ? WHERE id = ?", [speaker, row["id"]])
    fts.update(db, {"speaker": new["label"], "role": new["role"]}, "SELECT :turn_id", {"turn_id": row["id"]})
    return old["label"] if old else str(row["speaker"]), new["label"]


def _parties(db: Database, transcript_id: int) -> tuple[str | None, str | None]:
    call = first(db.query(
        "SELECT c.caller, c.callee FROM transcripts t JOIN recordings r ON r.id = t.recording_id"
        " JOIN calls c ON c.id = r.call_id WHERE t.id = ?", [transcript_id]))
    return call["caller"], call["callee"]


def _shift(db: Database, transcript_id: int, after: int, by: int) -> None:
    """Move the indexes of the turns after `after` by `by`, through negatives: (transcript, idx)
    is unique, and SQLite checks it row by row."""
    db.execute("UPDATE turns SET idx = -(idx + :by) - 1 WHERE transcript_id = :t AND idx > :after",
               {"t": transcript_id, "after": after, "by": by})
    db.execute("UPDATE turns SET idx = -idx - 1 WHERE transcript_id = :t AND idx < 0", {"t": transcript_id})


def _split(db: Database, call_id: int, transcript_id: int, turns: list[dict], turn: int,
           index: int | None) -> tuple[str, str]:
    row = turns[turn]
    words = _words(row)
    if index is None or not 0 < index < len(words):
        raise BadInput("a turn is split between two of its words")
    head, tail = words[:index], words[index:]
    _shift(db, transcript_id, turn, 1)
    db.execute("UPDATE turns SET end_time = ? WHERE id = ?", [head[-1][1], row["id"]])
    first_text = _set_text(db, row["id"], head)
    second_text = words_text([Word(*w) for w in tail])
    new_id = db.execute(
        "INSERT INTO turns (transcript_id, idx, speaker, start_time, end_time, text, words)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        [transcript_id, turn + 1, row["speaker"], tail[0][0], row["end_time"], second_text, json.dumps(tail)],
    ).lastrowid  # the schema's trigger counts it in calls.turn_count and the turn-id range
    label = _label(db, transcript_id, row["speaker"]) or {"label": "", "role": "speaker"}
    fts.insert(db, [(new_id, second_text, label["label"], *_parties(db, transcript_id), label["role"])])
    return row["text"], f"{first_text} ‖ {second_text}"


def _merge(db: Database, call_id: int, transcript_id: int, turns: list[dict], turn: int) -> tuple[str, str]:
    if turn + 1 >= len(turns):
        raise BadInput("the last turn has no next turn to merge with")
    row, after = turns[turn], turns[turn + 1]
    fts.delete(db, "SELECT :turn_id", {"turn_id": after["id"]})
    db.execute("DELETE FROM turns WHERE id = ?", [after["id"]])
    db.execute("UPDATE calls SET turn_count = turn_count - 1 WHERE id = ?", [call_id])
    _shift(db, transcript_id, turn + 1, -1)
    db.execute("UPDATE turns SET end_time = ? WHERE id = ?", [max(row["end_time"], after["end_time"]), row["id"]])
    words = _words(row) + _words(after)
    # A turn without word timings (an engine that gives none) keeps its text as it was.
    text = None if _words(row) and _words(after) else f"{row['text']} {after['text']}"
    merged = _set_text(db, row["id"], words, text)
    return f"{row['text']} ‖ {after['text']}", merged


