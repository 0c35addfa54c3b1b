"""Phrase alerts in the UI: the phrases an admin watches for (/admin/phrases), each optionally
notifying the webhooks that opted in; on the call page the phrases found, each a link to its
moment. The list's "with a phrase alert" filter and the dashboard's count read store.alerts' hits
through the call filter (appliance/store/filters.py)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for

from appliance.errors import BadInput
from appliance.web import get_store
from appliance.web.auth import admin_required, audited
from appliance.web.labels import error_text

bp = Blueprint("alerts", __name__)


@bp.app_context_processor
def alert_helpers() -> dict:
    return {"call_alerts": lambda call_id: get_store().alerts.of_call(call_id)}


@bp.route("/admin/phrases", methods=["GET", "POST"])
@admin_required
def phrases():
    store = get_store().alerts
    if request.method == "POST":
        phrase = request.form.get("phrase") or ""
        try:
            with audited("phrase-add", None, phrase[:80]):
                store.add_rule(phrase, request.form.get("notify") == "on")
        except BadInput as exc:
            flash(error_text(exc), "error")
        return redirect(url_for("alerts.phrases"))
    return render_template("phrases.html", rules=store.rules())


@bp.route("/admin/phrases/<int:rule_id>/delete", methods=["POST"])
@admin_required
def delete(rule_id: int):
    with audited("phrase-delete", f"phrase {rule_id}"):
        get_store().alerts.delete_rule(rule_id)
    return redirect(url_for("alerts.phrases"))
