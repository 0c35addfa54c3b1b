"""Bulk actions on the calls ticked on the list: export them (the list's own export, which
takes the selection as a filter), put them under legal hold, or delete them after a page that
names each. Hold and delete are the admin's, each call audited as its single action is."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from appliance.errors import LegalHold, NotFound
from appliance.web import get_store
from appliance.web.auth import admin_required, audit, audited
from appliance.web.calls import MOST_SELECTED, remove_call, selected
from appliance.web.crm import export_file
from appliance.web.saved import list_query

bp = Blueprint("bulk", __name__)


def _selection() -> tuple[int, ...]:
    ids = selected(request.form)
    if ids is None:
        abort(400, description=_("Tick at least one call first."))
    return ids


def _back():
    query = list_query(request.form.get("back") or "")
    return redirect(url_for("calls.index") + (f"?{query}" if query else ""))


@bp.post("/calls/bulk/export")
def export():
    """The ticked calls as the list's CSV, each export audited as a single call's is."""
    ids = tuple(call.id for call in get_store().calls.page(limit=MOST_SELECTED, ids=_selection()))  # in scope
    for call_id in ids:
        audit("export", f"call {call_id}", "csv")
    return export_file("csv", {"ids": ids or (0,)}, "selected-calls.csv")


@bp.post("/calls/bulk/hold")
@admin_required
def hold():
    held = 0
    for call_id in _selection():
        try:
            with audited("hold", f"call {call_id}"):
                get_store().retention.set_legal_hold(call_id, True)
            held += 1
        except NotFound:
            pass  # deleted meanwhile
    flash(_("%(n)s calls are under legal hold: nothing deletes them.", n=held), "info")
    return _back()


@bp.post("/calls/bulk/delete")
@admin_required
def delete():
    ids = _selection()
    if request.form.get("confirm") != "1":
        calls = get_store().calls.page(limit=MOST_SELECTED, ids=ids)
        return render_template("bulk_delete.html", calls=calls, back=request.form.get("back") or "")
    deleted = kept = 0
    for call_id in ids:
        try:
            remove_call(call_id)
            deleted += 1
        except LegalHold:
            kept += 1
        except NotFound:
            pass  # deleted meanwhile
    flash(_("%(n)s calls and their recordings were deleted.", n=deleted), "info")
    if kept:
        flash(_("%(n)s calls under legal hold were kept.", n=kept), "error")
    return _back()
