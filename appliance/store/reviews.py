"""Quality reviews of calls: the site's scorecard, each reviewer's filled-in card per call, and
comments at a moment of a call.

The scorecard is one list of criteria an admin defines, each answered yes/no or on a scale of 1
to 5 and weighted. A review keeps its answers by criterion id and the weighted score (0-100) as
it was when saved: a criterion deleted later leaves old scores as they were. A criterion left
unanswered counts neither way. Who may review is the web's to decide; the store reads and writes
only calls in the store's scope (appliance/store/scopes.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from appliance.errors import BadInput, NotFound
from appliance.store.alerts import clean_phrase
from appliance.store.concern import Concern, clock
from appliance.store.db import write

KINDS = ("yes_no", "scale")
SCALE = range(1, 6)
MAX_TEXT = 200
MAX_NOTE = 2000


PARTIES = ("", "caller", "callee")  # whose words a criterion's phrase is looked for in ("": anyone's)


@dataclass(frozen=True)
class Criterion:
    id: int
    text: str
    kind: str  # one of KINDS
    weight: float
    phrase: str | None = None  # a yes/no criterion the transcript answers (appliance/analytics/scorecard.py)
    phrase_party: str = ""  # one of PARTIES
    phrase_meets: bool = True  # saying the phrase meets the criterion; False: it fails it


@dataclass(frozen=True)
class Review:
    call_id: int
    reviewer_id: int | None  # None once the reviewer's account is deleted
    reviewer: str
    answers: dict[int, int]  # criterion id -> 0/1 (yes_no) or 1-5 (scale)
    score: float | None  # 0-100, None when nothing was answered
    note: str
    updated_at: float


@dataclass(frozen=True)
class Comment:
    id: int
    call_id: int
    author: str
    at_seconds: float
    text: str
    created_at: float


def _text(value: str, most: int, what: str) -> str:
    text = " ".join(value.split()) if what != "note" else value.strip()
    if len(text) > most or not text.replace("\n", "").replace("\r", "").isprintable():
        raise BadInput(f"a {what} has at most {most} printable characters", "review-text", most=most)
    return text


def score(card: list[Criterion], answers: dict[int, int]) -> float | None:
    """The weighted share of the answered criteria that were met, 0-100 (a 3 of 5 is half met)."""
    met = weights = 0.0
    for criterion in card:
        if criterion.id in answers:
            value = answers[criterion.id]
            met += criterion.weight * (value if criterion.kind == "yes_no" else (value - 1) / 4)
            weights += criterion.weight
    return round(100 * met / weights, 1) if weights else None


def _answers(card: list[Criterion], given: dict[int, int]) -> dict[int, int]:
    """The answers to this card's criteria; BadInput for a value its kind does not allow."""
    kinds = {c.id: c.kind for c in card}
    for criterion_id, value in given.items():
        allowed = (0, 1) if kinds.get(criterion_id) == "yes_no" else SCALE
        if criterion_id not in kinds or value not in allowed:
            raise BadInput("an answer is yes/no or 1 to 5, for a criterion of the scorecard", "review-answer")
    return dict(sorted(given.items()))


class Reviews(Concern):
    """`store.reviews`: the scorecard (the site's, no call in it) and each call's reviews and
    comments, on calls in the store's scope only (NotFound outside it)."""

    def scorecard(self) -> list[Criterion]:
        return [Criterion(row["id"], row["text"], row["kind"], row["weight"], row["phrase"], row["phrase_party"],
                          bool(row["phrase_meets"]))
                for row in self._db.query("SELECT id, text, kind, weight, phrase, phrase_party, phrase_meets"
                                          " FROM scorecard_criteria ORDER BY id")]

    def add_criterion(self, text: str, kind: str, weight: float, phrase: str = "", phrase_party: str = "",
                      phrase_meets: bool = True, now: float | None = None) -> Criterion:
        """A criterion; with a `phrase`, a yes/no one the transcript answers: met where the phrase
        is said (by `phrase_party`, or anyone), or where it is not, with `phrase_meets` False."""
        text = _text(text, MAX_TEXT, "criterion")
        if not text or kind not in KINDS or not 0 < weight <= 100:
            raise BadInput("a criterion needs a text, a kind (yes/no or 1-5) and a weight from 0 to 100",
                           "criterion")
        phrase = clean_phrase(phrase) if phrase.strip() else None
        if phrase and (kind != "yes_no" or phrase_party not in PARTIES):
            raise BadInput("a phrase answers a yes/no criterion, said by the caller, the callee or anyone",
                           "criterion-phrase")
        party = phrase_party if phrase else ""
        with write(self._db):
            row_id = self._db.execute(
                "INSERT INTO scorecard_criteria (text, kind, weight, phrase, phrase_party, phrase_meets, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                [text, kind, weight, phrase, party, int(phrase_meets), clock(now)]).lastrowid
        return Criterion(row_id, text, kind, weight, phrase, party, phrase_meets)

    def delete_criterion(self, criterion_id: int) -> None:
        with write(self._db):
            self._db.execute("DELETE FROM scorecard_criteria WHERE id = ?", [criterion_id])

    def save(self, call_id: int, reviewer_id: int, reviewer: str, given: dict[int, int], note: str = "",
             now: float | None = None) -> Review:
        """The reviewer's review of the call, made or replaced."""
        self._require_visible(call_id)
        card = self.scorecard()
        answers = _answers(card, given)
        note = _text(note, MAX_NOTE, "note")
        value, now = score(card, answers), clock(now)
        with write(self._db):
            self._db.execute(
                """INSERT INTO reviews (call_id, reviewer_id, reviewer, answers, score, note, created_at, updated_at)
                VALUES (:call_id, :reviewer_id, :reviewer, :answers, :score, :note, :now, :now)
                ON CONFLICT (call_id, reviewer_id) DO UPDATE SET reviewer = excluded.reviewer,
                  answers = excluded.answers, score = excluded.score, note = excluded.note,
                  updated_at = excluded.updated_at""",
                {"call_id": call_id, "reviewer_id": reviewer_id, "reviewer": reviewer, "answers": json.dumps(answers),
                 "score": value, "note": note, "now": now})
        return Review(call_id, reviewer_id, reviewer, answers, value, note, now)

    def of_call(self, call_id: int) -> list[Review]:
        self._require_visible(call_id)
        return [Review(row["call_id"], row["reviewer_id"], row["reviewer"],
                       {int(k): v for k, v in json.loads(row["answers"]).items()}, row["score"], row["note"],
                       row["updated_at"])
                for row in self._db.query("SELECT * FROM reviews WHERE call_id = ? ORDER BY updated_at", [call_id])]

    def add_comment(self, call_id: int, author: str, at_seconds: float, text: str,
                    now: float | None = None) -> Comment:
        self._require_visible(call_id)
        text, now = _text(text, MAX_NOTE, "note"), clock(now)
        if not text or not 0 <= at_seconds < 10 ** 6:
            raise BadInput("a comment needs a text and a moment of the call (m:ss)", "comment")
        with write(self._db):
            row_id = self._db.execute(
                "INSERT INTO call_comments (call_id, author, at_seconds, text, created_at) VALUES (?, ?, ?, ?, ?)",
                [call_id, author, at_seconds, text, now]).lastrowid
        return Comment(row_id, call_id, author, at_seconds, text, now)

    def comments(self, call_id: int) -> list[Comment]:
        self._require_visible(call_id)
        return [Comment(**row) for row in self._db.query(
            "SELECT id, call_id, author, at_seconds, text, created_at FROM call_comments WHERE call_id = ?"
            " ORDER BY at_seconds, id", [call_id])]

    def delete_comment(self, call_id: int, comment_id: int) -> None:
        """NotFound unless the comment is one of this visible call's."""
        self._require_visible(call_id)
        with write(self._db):
            if not self._db.execute("DELETE FROM call_comments WHERE id = ? AND call_id = ?",
                                    [comment_id, call_id]).rowcount:
                raise NotFound(f"call {call_id} has no comment {comment_id}")
