"""Operations in the web UI: /healthz for monitoring (open, no data), and for admins the status
page, retention policies, legal hold and erasure on request, and the low-disk banner."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from appliance.disk import disk
from appliance.errors import ApplianceError, BadQuery, ConfigError, NotFound
from appliance.ops import erasure, health, retention
from appliance.store.retention import RetentionPolicy
from appliance.web import get_store, settings
from appliance.web.auth import admin_required, audit, audited
from appliance.web.inputs import bounded_int, form_int
from appliance.web.search import query_error

bp = Blueprint("ops", __name__)


@bp.route("/healthz")
def healthz():
    """Open to the LAN's monitoring: states, counts, ages and bytes only."""
    report = health.health(settings(), get_store())
    return report.as_dict(), 200 if report.ok else 503


@bp.app_context_processor
def ops_context() -> dict:
    """The low-disk banner (admins), and the call page's retention facts."""
    if not (current_user and current_user.is_authenticated):
        return {}
    store = get_store()
    return {
        "disk_warning": disk(settings()) if current_user.is_admin else None,
        "legal_hold": store.retention.legal_hold,
        "audio_deleted": store.retention.audio_deleted,
    }


@bp.route("/admin/status")
@admin_required
def status():
    store = get_store()
    return render_template(
        "ops_status.html",
        report=health.health(settings(), store),
        stats=store.jobs.queue_stats(),
        retention_run=store.ops.state(retention.LAST_RUN),
        last_backup=store.ops.state("last-backup"),
        held=store.retention.held_calls(),
    )


def _days(name: str) -> int | None:
    value = (request.form.get(name) or "").strip()
    if not value:
        return None
    days = bounded_int(value)
    if days is None or days > 36500:
        raise ApplianceError(_("Days must be a whole number."))
    return days


@bp.route("/admin/retention", methods=["GET", "POST"])
@admin_required
def retention_policies():
    store = get_store()
    if request.method == "POST":
        if request.form.get("action") == "delete":
            policy_id = form_int("policy_id") or 0
            try:
                with audited("retention-policy-delete", f"policy {policy_id}"):
                    store.retention.delete_policy(policy_id)
            except NotFound:
                abort(404)
            return redirect(url_for("ops.retention_policies"))
        direction = request.form.get("direction") or None
        try:
            policy = RetentionPolicy(
                name=(request.form.get("name") or "").strip()[:80] or _("Policy"),
                direction=direction if direction in retention.DIRECTIONS else None,
                number_pattern=(request.form.get("number") or "").strip() or None,
                mailbox=(request.form.get("mailbox") or "").strip() or None,
                audio_days=_days("audio_days"),
                transcript_days=_days("transcript_days"),
            )
        except ApplianceError as exc:
            flash(str(exc), "error")
            return redirect(url_for("ops.retention_policies"))
        with audited("retention-policy-add", f"policy {policy.name}",
                     f"audio {policy.audio_days} days, transcript {policy.transcript_days} days"):
            store.retention.add_policy(policy)
        return redirect(url_for("ops.retention_policies"))
    try:
        from_file = [retention.policy_from_settings(n, t) for n, t in settings().retention.items()]
    except ConfigError as exc:  # shown here rather than only in the worker's log
        from_file = []
        flash(str(exc), "error")
    return render_template("ops_retention.html", from_file=from_file, policies=store.retention.policies(),
                           directions=retention.DIRECTIONS, last_run=store.ops.state(retention.LAST_RUN))


@bp.route("/calls/<int:call_id>/hold", methods=["POST"])
@admin_required
def hold(call_id: int):
    on = request.form.get("hold") == "1"
    try:
        with audited("hold" if on else "hold-off", f"call {call_id}"):
            get_store().retention.set_legal_hold(call_id, on)
    except NotFound:
        abort(404)
    flash(_("The call is under legal hold: nothing deletes it.") if on else _("The legal hold is lifted."), "info")
    return redirect(url_for("calls.show", call_id=call_id))


@bp.route("/admin/erasure", methods=["GET", "POST"])
@admin_required
def erase():
    store = get_store()
    source = request.form if request.method == "POST" else request.args
    number, words = (source.get("number") or "").strip(), (source.get("words") or "").strip()
    found, error = None, None
    if number or words:
        try:
            found = erasure.find(store, number, words)
        except BadQuery as exc:
            error = query_error(exc)
        except ApplianceError as exc:
            error = str(exc)
    if request.method == "POST" and found is not None:
        if request.form.get("confirm") != "yes":
            flash(_("Tick the box to confirm the erasure."), "error")
        else:
            # Exactly the calls the admin saw: one that arrived since is shown next time.
            shown = {bounded_int(i) for i in request.form.getlist("call")} - {None}
            result = erasure.erase(store, settings(), found, current_user.username, only=shown)
            flash(_("%(n)s call(s) erased; %(held)s under legal hold kept.",
                    n=len(result.deleted), held=len(result.held)), "info")
            if result.files_left or not result.file_compacted:
                flash(_("Some traces could not be removed yet (a file, or the database log in use): run the erasure again."), "error")
            return redirect(url_for("ops.erase"))
    if found is not None:
        audit("erasure-search", None, f"{len(found.calls)} call(s) found")
    return render_template("ops_erasure.html", number=number, words=words, found=found, error=error), 400 if error else 200
