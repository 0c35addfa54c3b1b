"""Scorecard criteria the transcript answers: a yes/no criterion with a phrase is met where the
phrase is said (by the caller, the callee, or anyone), or, for a criterion like "no promise of a
diagnosis", where it is not. Matching is the phrase alerts' (appliance/analytics/phrases.py:
words in order in one turn, each at a word's start, case ignored), so the answer links to the
moment it was said. The reviewer's own answer, where given, is the one a review keeps.
"""

from __future__ import annotations

from dataclasses import dataclass

from appliance.analytics.phrases import find
from appliance.store.reviews import Criterion
from appliance.transcript.model import Transcript


@dataclass(frozen=True)
class AutomaticAnswer:
    criterion_id: int
    value: int  # 1 met, 0 not met (as a yes/no answer)
    speaker: int | None  # who said the phrase, None where nobody did
    at_seconds: float | None  # where it was said first


def answer(card: list[Criterion], transcript: Transcript | None) -> dict[int, AutomaticAnswer]:
    """The answers the transcript gives to the card's criteria that have a phrase."""
    answers = {}
    for criterion in card:
        if not criterion.phrase or transcript is None:
            continue
        speakers = None if not criterion.phrase_party else {
            s.index for s in transcript.speakers if s.role == criterion.phrase_party}
        hit = next(iter(find([criterion], transcript, speakers)), None)
        said = hit is not None
        answers[criterion.id] = AutomaticAnswer(criterion.id, int(said == criterion.phrase_meets),
                                                hit[1] if hit else None, hit[2] if hit else None)
    return answers
