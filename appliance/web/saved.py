"""Saved filters: a user names the calls list's current filter, finds it listed above the list,
applies it with one click, deletes it. Each user's own (a preference, like the language, so not
audited); what is saved is only the list's own query keys, re-encoded."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from appliance.errors import BadInput, NotFound
from appliance.web import get_store
from appliance.web.labels import error_text

bp = Blueprint("saved", __name__)
# What the calls list reads from its query string (calls.call_filters, calls.list_order).
FILTER_KEYS = ("kind", "from", "to", "number", "extension", "direction", "state", "speaker", "longer", "shorter",
               "keyword", "sort", "dir")
MAX_QUERY_CHARS = 2000


def list_query(text: str) -> str:
    """The calls list's keys of a query string, non-empty, in a fixed order: nothing else is kept."""
    given = dict(parse_qsl(text[:MAX_QUERY_CHARS]))
    return urlencode([(key, given[key].strip()[:100]) for key in FILTER_KEYS if (given.get(key) or "").strip()])


@bp.app_template_global()
def saved_filters() -> list:
    return get_store().saved_filters.of(int(current_user.id))


@bp.post("/filters")
def save():
    query = list_query(request.form.get("query") or "")
    try:
        get_store().saved_filters.save(int(current_user.id), request.form.get("name") or "", query)
    except BadInput as exc:
        abort(400, description=error_text(exc))
    flash(_("Filter saved."), "info")
    return redirect(url_for("calls.index") + (f"?{query}" if query else ""))


@bp.post("/filters/<int:filter_id>/delete")
def delete(filter_id: int):
    try:
        get_store().saved_filters.delete(int(current_user.id), filter_id)
    except NotFound:
        abort(404)  # not one of this user's
    flash(_("Filter deleted."), "info")
    back = list_query(request.form.get("query") or "")
    return redirect(url_for("calls.index") + (f"?{back}" if back else ""))
