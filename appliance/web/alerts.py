"""Phrase alerts in the UI: the phrases an admin watches for (/admin/phrases), each optionally
notifying the webhooks that opted in and mailing the recipients it names (in its language), with
the alert mails that did not go out; on the call page the phrases found, each a link to its
moment, and for an admin the state of each alert mail of the call. The list's "with a phrase
alert" filter and the dashboard's count read store.alerts' hits through the call filter
(appliance/store/filters.py)."""

from __future__ import annotations

import re

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import get_locale

from appliance.errors import BadInput
from appliance.web import get_store
from appliance.web.auth import admin_required, audited
from appliance.web.labels import error_text

bp = Blueprint("alerts", __name__)
_SEPARATORS = re.compile(r"[\s,;]+")


@bp.app_context_processor
def alert_helpers() -> dict:
    return {"call_alerts": lambda call_id: get_store().alerts.of_call(call_id),
            "call_alert_mails": lambda call_id: get_store().alert_mail.of_call(call_id)}


def _recipients() -> list[str]:
    """The form's addresses, separated by commas, semicolons or spaces."""
    return [address for address in _SEPARATORS.split(request.form.get("mail_to") or "") if address]


def _language() -> str:
    return request.form.get("mail_language") or str(get_locale())


@bp.route("/admin/phrases", methods=["GET", "POST"])
@admin_required
def phrases():
    store = get_store().alerts
    if request.method == "POST":
        phrase = request.form.get("phrase") or ""
        try:
            with audited("phrase-add", None, phrase[:80]):
                store.add_rule(phrase, request.form.get("notify") == "on", _recipients(), _language())
        except BadInput as exc:
            flash(error_text(exc), "error")
        return redirect(url_for("alerts.phrases"))
    return render_template("phrases.html", rules=store.rules(), undelivered=get_store().alert_mail.undelivered())


@bp.route("/admin/phrases/<int:rule_id>/mail", methods=["POST"])
@admin_required
def mail(rule_id: int):
    recipients = _recipients()
    try:
        # The audit names how many, not whom: the addresses are the admin's page to read.
        with audited("phrase-mail", f"phrase {rule_id}", str(len(recipients))):
            get_store().alerts.set_mail(rule_id, recipients, _language())
    except BadInput as exc:
        flash(error_text(exc), "error")
    return redirect(url_for("alerts.phrases"))


@bp.route("/admin/phrases/<int:rule_id>/delete", methods=["POST"])
@admin_required
def delete(rule_id: int):
    with audited("phrase-delete", f"phrase {rule_id}"):
        get_store().alerts.delete_rule(rule_id)
    return redirect(url_for("alerts.phrases"))
