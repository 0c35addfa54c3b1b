"""CRM hand-off in the UI: webhooks (admin: URL, secret, fields, name source, test button,
delivery log),
the calls of a date range as CSV or JSON with keywords, summary and the PBX's call record
(answered by, queue, DID, result, talk time) or as vCons (JSON lines), and the insights helpers
the call list, call page and search use."""

from __future__ import annotations

import io
import json
import secrets

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _

from appliance.errors import BadQuery, NotFound
from appliance.web import get_store, settings
from appliance.web.auth import admin_required, audit, audited
from appliance.store.query import parse_query
from appliance.web.calls import call_filters, list_order
from appliance.web.csvcells import csv_bytes
from appliance.web.i18n import local_iso
from appliance.store.records import call_record_summary
from appliance.web.inputs import form_int
from appliance.web.labels import error_text
from appliance.webhooks.payload import DEFAULT_FIELDS, FIELDS

bp = Blueprint("crm", __name__)
EXPORT_BATCH = 500
CSV_COLUMNS = ("id", "started_at", "caller", "caller_name", "callee", "callee_name", "direction", "kind", "duration", "language",
               "state", "speakers", "keywords", "summary", "answered_by", "queue", "did", "disposition", "billsec")


@bp.app_context_processor
def insight_helpers() -> dict:
    def call_insights(call_ids) -> dict:
        return get_store().insights.of_calls(list(call_ids))

    def insight_matches(query: str, limit: int = 10) -> list:
        """Calls whose keywords or summary match a search (none for a query search rejects)."""
        try:
            ids = get_store().insights.search(query, limit) if query else []
        except BadQuery:
            return []
        store = get_store()
        return [store.calls.get(call_id) for call_id in ids]

    return {"call_insights": call_insights, "insight_matches": insight_matches}


@bp.route("/admin/webhooks", methods=["GET", "POST"])
@admin_required
def webhooks():
    store = get_store()
    if request.method == "POST":
        from appliance.webhooks.delivery import WebhookRefused, check_lan_url

        webhook_id = form_int("id")
        try:
            url = check_lan_url(request.form.get("url") or "")
        except WebhookRefused as exc:
            flash(error_text(exc), "error")
            return redirect(url_for("crm.webhooks"))
        # An empty secret field keeps the stored one; a new webhook gets a generated one.
        secret = (request.form.get("secret") or "").strip()
        fields = [f for f in request.form.getlist("fields") if f in FIELDS]
        name = (request.form.get("name") or url).strip()[:80]
        try:
            if not secret:
                secret = store.webhooks.get(webhook_id).secret if webhook_id else secrets.token_urlsafe(32)
            with audited("webhook-save", f"webhook {name}"):
                store.webhooks.save(webhook_id, name, url, secret, fields, request.form.get("enabled") == "on",
                                    request.form.get("name_source") == "on")
        except NotFound:
            abort(404)
        flash(_("Webhook saved."), "info")
        return redirect(url_for("crm.webhooks"))
    return render_template("webhooks.html", webhooks=store.webhooks.all(), deliveries=store.webhooks.deliveries(100),
                           fields=FIELDS, default_fields=DEFAULT_FIELDS)


@bp.route("/admin/webhooks/<int:webhook_id>/test", methods=["POST"])
@admin_required
def test(webhook_id: int):
    from appliance.webhooks.delivery import send_test

    try:
        delivery = send_test(get_store(), settings(), webhook_id)
    except NotFound:
        abort(404)
    audit("webhook-test", f"webhook {webhook_id}", delivery.state)
    if delivery.state == "sent":
        flash(_("Test delivered (HTTP %(status)s).", status=delivery.last_status), "info")
    else:
        flash(_("Test failed: %(error)s", error=delivery.last_error), "error")
    return redirect(url_for("crm.webhooks"))


@bp.route("/admin/webhooks/<int:webhook_id>/delete", methods=["POST"])
@admin_required
def delete(webhook_id: int):
    with audited("webhook-delete", f"webhook {webhook_id}"):
        get_store().webhooks.delete(webhook_id)
    return redirect(url_for("crm.webhooks"))


def _range_calls(filters: dict):
    """Every call the list shows with these filters, in its order, a batch at a time."""
    store, order = get_store(), list_order()
    offset = 0
    while True:
        calls = store.calls.page(limit=EXPORT_BATCH, offset=offset, **filters, **order)
        yield calls
        if len(calls) < EXPORT_BATCH:
            return
        offset += EXPORT_BATCH


def _range_rows(filters: dict):
    """Each call of _range_calls with its insights, the summary of its call records and the
    address book's names of its parties (as the list shows them)."""
    store = get_store()
    for calls in _range_calls(filters):
        insights = store.insights.of_calls([c.id for c in calls])
        records = store.cdr.of_calls([c.id for c in calls])
        names = store.contacts.names({number for c in calls for number in (c.caller, c.callee) if number})
        for call in calls:
            yield call, insights.get(call.id) or {}, call_record_summary(records.get(call.id, [])), names


def _vcon_lines(filters: dict) -> bytes:
    """One vCon per line (JSON lines) for each transcribed call of the range, the recording
    referenced, not embedded (appliance/web/vcon.py, as one call's export makes it)."""
    from appliance.web.vcon import call_vcon

    store, lines = get_store(), []
    for call in (call for calls in _range_calls(filters) for call in calls):
        try:
            lines.append(json.dumps(call_vcon(store, settings(), call.id), ensure_ascii=False))
        except NotFound:
            continue  # not transcribed yet: nothing to put in a vCon
    return "".join(line + "\n" for line in lines).encode()


def _summary_text(insights: dict) -> str:
    return insights.get("abstract") or " ".join(line["text"] for line in insights.get("summary", ()))


@bp.route("/calls/export.<fmt>")
def export_range(fmt: str):
    if fmt not in ("csv", "json", "vcon"):
        abort(404)
    filters = call_filters()
    if filters["keyword"]:
        try:
            parse_query(filters["keyword"])
        except BadQuery as exc:
            abort(400, str(exc))
    audit("export-range", None, f"{fmt} {filters['date_from'] or ''}..{filters['date_to'] or ''}")
    name = f"{filters['kind'] or 'calls'}-{filters['date_from'] or 'start'}-{filters['date_to'] or 'now'}.{fmt}"
    return export_file(fmt, filters, name)


def export_file(fmt: str, filters: dict, name: str):
    """The calls these filters select as a CSV, JSON or vCon-lines download (the caller audits it)."""
    if fmt == "vcon":
        body, mimetype, name = _vcon_lines(filters), "application/x-ndjson", name + ".jsonl"
    elif fmt == "json":
        rows = [{
            "id": call.id, "uniqueid": call.uniqueid, "started_at": local_iso(call.started_at or call.created_at),
            "caller": call.caller, "caller_name": names.get(call.caller),
            "callee": call.callee, "callee_name": names.get(call.callee), "direction": call.direction, "kind": call.kind, "duration": call.duration,
            "language": call.language, "state": call.state, "speakers": list(call.speakers),
            "keywords": insights.get("keywords", []), "summary": _summary_text(insights),
            "summary_lines": insights.get("summary", []), "entities": insights.get("entities", []), **record,
        } for call, insights, record, names in _range_rows(filters)]
        body = json.dumps(rows, ensure_ascii=False, indent=1).encode()
        mimetype = "application/json"
    else:
        rows = ([call.id, local_iso(call.started_at or call.created_at), call.caller, names.get(call.caller, ""),
                 call.callee, names.get(call.callee, ""), call.direction, call.kind,
                 call.duration, call.language, call.state, "; ".join(call.speakers),
                 "; ".join(insights.get("keywords", [])), _summary_text(insights), "; ".join(record["answered_by"]),
                 record["queue"], record["did"], record["disposition"], record["billsec"]]
                for call, insights, record, names in _range_rows(filters))
        body, mimetype = csv_bytes(CSV_COLUMNS, rows), "text/csv; charset=utf-8"
    return send_file(io.BytesIO(body), mimetype=mimetype, as_attachment=True, download_name=name)
