"""Quality reviews in the UI: the scorecard an admin defines (/admin/scorecard), and on the call
page each reviewer's filled-in card and comments at a moment of the call (a link that plays from
that second), with the criteria the transcript answers (a phrase rule) answered and linked to
the moment, the reviewer's form filled in with them until the reviewer answers otherwise.

Reviewers are admins and supervisors (REVIEWERS); everyone who sees a call sees its reviews and
comments, so an agent reads the reviews of their own calls. Scoped like every read of a call: a
call outside the user's scope is a 404 here too. Every change is audited.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from appliance.analytics.scorecard import answer as automatic_answers
from appliance.errors import BadInput, NotFound
from appliance.store.reviews import KINDS, PARTIES, SCALE
from appliance.web import get_store
from appliance.web.auth import admin_required, audited
from appliance.web.calls import parse_seconds
from appliance.web.labels import error_text

bp = Blueprint("reviews", __name__)
REVIEWERS = ("admin", "supervisor")


def may_review() -> bool:
    return current_user.is_authenticated and not current_user.by_token and current_user.record.role in REVIEWERS


@bp.app_context_processor
def review_helpers() -> dict:
    def review_panel(call_id: int, transcript) -> dict:
        """What the call page shows of the call's reviews (its `transcript`, the page's, answers
        the criteria a phrase decides), for the signed-in user."""
        store = get_store().reviews
        reviews, card = store.of_call(call_id), store.scorecard()
        mine = next((r for r in reviews if r.reviewer_id == int(current_user.id)), None)
        return {"card": card, "reviews": reviews, "mine": mine, "comments": store.comments(call_id),
                "may_review": may_review(), "scale": SCALE, "automatic": automatic_answers(card, transcript),
                "speakers": {s.index: s.label for s in transcript.speakers} if transcript else {}}

    return {"review_panel": review_panel}


def _reviewer_only(call_id: int) -> None:
    """404 for a call out of the user's scope (as everywhere: existence does not leak), then
    403 for a user who is no reviewer."""
    if not get_store().calls.visible(call_id):
        abort(404)
    if not may_review():
        abort(403)


def _back(call_id: int):
    return redirect(url_for("calls.show", call_id=call_id) + "#reviews")


@bp.route("/calls/<int:call_id>/review", methods=["POST"])
def save(call_id: int):
    _reviewer_only(call_id)
    answers = {}
    for name, value in request.form.items():
        if name.startswith("c") and name[1:].isascii() and name[1:].isdigit() and value:
            answers[int(name[1:])] = int(value) if value.isascii() and value.isdigit() else -1
    try:
        with audited("review-save", f"call {call_id}", f"{len(answers)} answers"):
            get_store().reviews.save(call_id, int(current_user.id), current_user.username, answers,
                                    request.form.get("note") or "")
    except NotFound:
        abort(404)
    except BadInput as exc:
        flash(error_text(exc), "error")
        return _back(call_id)
    flash(_("Review saved."), "info")
    return _back(call_id)


@bp.route("/calls/<int:call_id>/comments", methods=["POST"])
def comment(call_id: int):
    _reviewer_only(call_id)
    at = parse_seconds(request.form.get("at"))
    try:
        with audited("comment-add", f"call {call_id}"):
            get_store().reviews.add_comment(call_id, current_user.username, -1 if at is None else at,
                                    request.form.get("text") or "")
    except NotFound:
        abort(404)
    except BadInput as exc:
        flash(error_text(exc), "error")
    return _back(call_id)


@bp.route("/calls/<int:call_id>/comments/<int:comment_id>/delete", methods=["POST"])
def delete_comment(call_id: int, comment_id: int):
    _reviewer_only(call_id)
    try:
        with audited("comment-delete", f"call {call_id}"):
            get_store().reviews.delete_comment(call_id, comment_id)
    except NotFound:
        abort(404)
    return _back(call_id)


@bp.route("/admin/scorecard", methods=["GET", "POST"])
@admin_required
def scorecard():
    store = get_store().reviews
    if request.method == "POST":
        try:
            weight = float(request.form.get("weight") or "1")
        except ValueError:
            weight = 0.0
        text = request.form.get("text") or ""
        try:
            with audited("criterion-add", None, text[:200]):
                store.add_criterion(text, request.form.get("kind") or "", weight, request.form.get("phrase") or "",
                                    request.form.get("phrase_party") or "", request.form.get("phrase_meets") != "0")
        except BadInput as exc:
            flash(error_text(exc), "error")
        return redirect(url_for("reviews.scorecard"))
    return render_template("scorecard.html", card=store.scorecard(), kinds=KINDS, parties=PARTIES)


@bp.route("/admin/scorecard/<int:criterion_id>/delete", methods=["POST"])
@admin_required
def delete_criterion(criterion_id: int):
    with audited("criterion-delete", f"criterion {criterion_id}"):
        get_store().reviews.delete_criterion(criterion_id)
    return redirect(url_for("reviews.scorecard"))
