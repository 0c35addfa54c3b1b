"""Transcript corrections from the call page (static/edit.js): fix a word, give a turn to another
speaker, split or merge turns. Each is a revision in the store and an entry in the audit log
(which names the turn, never the words); the call's keywords and summary are made again from
the corrected text at once.

A script asks for JSON and gets the corrected turn back; a plain form post is redirected to
the call page at the edited turn.
"""

from __future__ import annotations

import logging

from flask import Blueprint, abort, flash, jsonify, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from appliance.errors import NotAllowed, NotFound
from appliance.web import get_store, settings
from appliance.web.auth import audited

bp = Blueprint("edits", __name__)
log = logging.getLogger(__name__)


@bp.app_template_global()
def transcript_revisions(call_id: int) -> list:
    return get_store().edits.revisions(call_id)


@bp.app_template_global()
def original_turns(call_id: int):
    return get_store().edits.original_turns(call_id)


def _refusal(action: str) -> str:
    """Why an edit of this kind was refused, in the user's language."""
    return {
        "word": _("A word needs 1 to 80 characters, and must be one of the turn's words."),
        "speaker": _("Choose one of the call's speakers."),
        "split": _("A turn is split between two of its words."),
        "merge": _("The last turn has no next turn to merge with."),
    }.get(action, _("This is not an edit the transcript knows."))


def _number(name: str) -> int | None:
    value = request.form.get(name, "")
    return int(value) if value.isascii() and value.isdigit() and len(value) < 7 else None


def _answer(call_id: int, turn: int, error: str | None = None):
    if request.accept_mimetypes.best == "application/json":
        if error:
            return jsonify(error=error), 400
        row = get_store().transcripts.get(call_id).turns[turn]
        return jsonify(turn=turn, text=row.text, words=[w.word.strip() for w in row.words])
    if error:
        flash(error, "error")
    turns = get_store().transcripts.get(call_id).turns
    at = turns[min(turn, len(turns) - 1)].start if turns else 0
    return redirect(url_for("calls.show", call_id=call_id) + f"#t={at:.2f}", code=303)


@bp.route("/calls/<int:call_id>/transcript/edit", methods=["POST"])
def edit(call_id: int):
    action = request.form.get("action", "")
    store = get_store()
    try:
        store.calls.check_edit(call_id)  # a call out of scope is missing, whatever the form says
    except NotFound:
        abort(404)
    except NotAllowed:
        abort(403)
    turn = _number("turn")
    if turn is None:
        abort(400)
    try:
        with audited("edit-transcript", f"call {call_id}", f"{action} in turn {turn + 1}"):
            revision = store.edits.edit(call_id, current_user.username, action, turn, word=_number("word"),
                                             text=request.form.get("text"), speaker=_number("speaker"))
    except NotFound:
        abort(404)
    except NotAllowed:
        abort(403)
    except ValueError:
        return _answer(call_id, turn, _refusal(action))
    from appliance.nlp.llm import summariser_for
    from appliance.nlp.stage import analyse_call

    try:
        analyse_call(store, settings(), call_id, revision.transcript_id,
                     summariser_for(settings()) if settings().nlp_enabled else None)
    except Exception:  # noqa: BLE001 - the edit stands; the scheduler's nlp run tries again
        log.exception("nlp: call %d not analysed again after an edit", call_id)
    return _answer(call_id, turn)
