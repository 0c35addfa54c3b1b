"""JSON API for a CRM or script on the LAN, mirroring the pages.

Authenticate with `Authorization: Bearer <token>` (tokens are made on the account page) or a
browser session. Reads only; every call is in the audit log like its page.
"""

from __future__ import annotations

import dataclasses

from flask import Blueprint, Response, abort, jsonify, request

from appliance.errors import BadQuery, NotFound
from appliance.web import get_store
from appliance.web.auth import audit, csrf
from appliance.web.calls import call_filters, call_metrics, call_records_public, list_order, vcon_json
from appliance.web.i18n import local_iso, local_transcript
from appliance.web.inputs import page_number
from appliance.web.search import search_filters

bp = Blueprint("api", __name__, url_prefix="/api")
csrf.exempt(bp)  # GET only; tokens are not cookies, so there is nothing to forge
PAGE_SIZE = 50


def _summary(call) -> dict:
    # Times in ISO 8601 with the offset of the user's zone, as the pages show them.
    return {**dataclasses.asdict(call), "started_at": local_iso(call.started_at),
            "created_at": local_iso(call.created_at)}


@bp.route("/calls")
def calls():
    store = get_store()
    filters = call_filters()
    page = page_number()
    try:
        rows = store.calls.page(limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE, **filters, **list_order())
        total = store.calls.count(**filters)
    except BadQuery as exc:
        return jsonify(error=str(exc)), 400
    return jsonify(calls=[_summary(c) for c in rows], page=page, total=total)


@bp.route("/calls/<int:call_id>")
def call(call_id: int):
    store = get_store()
    try:
        summary = store.calls.get(call_id)
    except NotFound:
        abort(404)
    transcript = store.transcripts.get(call_id)
    audit("view", f"call {call_id}", "api")
    return jsonify(call=_summary(summary), transcript=local_transcript(transcript).to_dict() if transcript else None,
                   metrics=call_metrics(call_id, transcript), call_records=call_records_public(call_id))


@bp.route("/calls/<int:call_id>/vcon")
def call_vcon(call_id: int):
    """The call as a vCon (?inline=1: the recording inside it, base64url), audited as an export."""
    if not get_store().calls.visible(call_id):
        abort(404)
    inline = request.args.get("inline") == "1"
    body = vcon_json(call_id, inline)
    audit("export", f"call {call_id}", "vcon (api, audio inline)" if inline else "vcon (api)")
    return Response(body, mimetype="application/vcon")


@bp.route("/search")
def search():
    query = (request.args.get("q") or "").strip()
    store = get_store()
    filters = search_filters()
    try:
        hits = store.search.hits(query, limit=PAGE_SIZE, offset=(page_number() - 1) * PAGE_SIZE, **filters)
    except BadQuery as exc:
        return jsonify(error=str(exc)), 400
    audit("search", None, "api")
    return jsonify(hits=[{**dataclasses.asdict(h), "snippet": h.marked("[", "]")} for h in hits])
