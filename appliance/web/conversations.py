"""One conversation across its legs: the calls Asterisk linked (a transfer, a queue, a menu then
an agent) on one page, with one timeline and one transcript in time order; each leg keeps its
own recording and player. The legs come from the store in the user's scope: a leg the user may
not see is not shown, and a call outside the scope is a 404 as everywhere."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from flask import Blueprint, abort, redirect, render_template, url_for

from appliance.errors import NotFound
from appliance.web import get_store, settings
from appliance.web.auth import audit

bp = Blueprint("conversations", __name__)


@dataclass(frozen=True)
class Leg:
    number: int  # 1, 2, ... in time order
    call: object  # the store's CallSummary
    transcript: object | None
    offset: float  # seconds after the conversation's first leg began


@dataclass(frozen=True)
class Line:
    at: float  # seconds into the conversation
    leg: Leg
    turn: object
    label: str


def _began(call) -> float:
    """The leg's start as a unix time: Asterisk's started_at, else when the appliance learnt of it."""
    try:
        started = datetime.fromisoformat(call.started_at)
        return (started if started.tzinfo else started.replace(tzinfo=timezone.utc)).timestamp()
    except (TypeError, ValueError):
        return call.created_at


def legs_of(calls, transcript_of) -> list[Leg]:
    ordered = sorted(calls, key=lambda call: (_began(call), call.id))
    start = _began(ordered[0]) if ordered else 0.0
    return [Leg(number, call, transcript_of(call.id), _began(call) - start)
            for number, call in enumerate(ordered, 1)]


def lines_of(legs: list[Leg]) -> list[Line]:
    lines = [Line(leg.offset + turn.start, leg, turn, leg.transcript.speaker(turn.speaker).label)
             for leg in legs if leg.transcript for turn in leg.transcript.turns]
    return sorted(lines, key=lambda line: (line.at, line.leg.number))


@bp.app_context_processor
def conversation_helpers() -> dict:
    """`conversation_of(call_id)`: the legs the call page links to ([] for a call on its own)."""
    return {"conversation_of": lambda call_id: get_store().calls.conversation(call_id)}


@bp.route("/calls/<int:call_id>/conversation")
def show(call_id: int):
    store = get_store()
    try:
        calls = store.calls.conversation(call_id)
    except NotFound:
        abort(404)
    if len(calls) < 2:
        return redirect(url_for("calls.show", call_id=call_id))
    legs = legs_of(calls, store.transcripts.get)
    audit("view", f"conversation of call {call_id}", ", ".join(f"call {leg.call.id}" for leg in legs))
    lines = lines_of(legs)
    span = max([leg.offset + (leg.transcript.duration if leg.transcript else 0) for leg in legs] + [1.0])
    return render_template("conversation.html", call_id=call_id, legs=legs, lines=lines, span=span,
                           unsure_below=settings().low_confidence_below)
