"""The address book's admin page (names for numbers and extensions: by hand, from a CSV file,
from the phones configured on the box), and `party`, the filter that shows a number with its
name wherever the UI shows a party."""

from __future__ import annotations

import csv
import io

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from appliance.errors import NotAllowed
from appliance.web import get_store, settings
from appliance.web.auth import admin_required, audited

bp = Blueprint("contacts", __name__)
MAX_ROWS = 10_000  # of one CSV upload


@bp.app_template_filter("party")
def party(number: str | None) -> str:
    """"Anna Schmidt (+49 30 1234567)" for a number in the address book, else the number."""
    if not number:
        return ""
    names = g.setdefault("contact_names", {})
    if number not in names:
        names[number] = get_store().contacts.names([number]).get(number)
    return f"{names[number]} ({number})" if names[number] else number


@bp.app_template_global()
def speaker_number(call, speaker) -> str | None:
    """The number of the party a speaker is: the caller's or callee's channel, a voicemail's voice."""
    if speaker.role == "callee":
        return call.callee
    if speaker.role == "caller" or (speaker.role == "speaker" and call.kind in ("voicemail", "note")):
        return call.caller
    return None


@bp.app_template_global()
def may_name_numbers() -> bool:
    """Whether the user may name a number for all its calls (which reaches past any scope)."""
    scope = current_user.scope
    return scope.everything and scope.may_edit


def save(entries: list[tuple[str, str]], source: str) -> int:
    """Save contacts and audit it (how many, never which numbers); ValueError, NotAllowed pass on."""
    with audited("save-contacts", "address book", f"{len(entries)} from {source}"):
        return get_store().contacts.save(entries, source)


@bp.route("/admin/contacts", methods=["GET", "POST"])
@admin_required
def index():
    if request.method == "POST":
        try:
            changed = save([(request.form.get("number", ""), request.form.get("name", ""))], "manual")
        except ValueError:
            flash(_("A contact needs a phone number or extension (digits, + * #) and a name of 1 to 80 characters."),
                  "error")
            return _page(), 400
        flash(_("Saved; every call of this number shows the name.") if changed else _("Nothing changed."), "info")
        return redirect(url_for("contacts.index"))
    return _page()


def _page() -> str:
    return render_template("contacts.html", contacts=get_store().contacts.all(), phones=settings().phones)


@bp.route("/admin/contacts/upload", methods=["POST"])
@admin_required
def upload():
    file = request.files.get("file")
    try:
        text = file.read().decode("utf-8-sig") if file else ""
    except UnicodeDecodeError:
        text = None
    rows = [row for row in csv.reader(io.StringIO(text or "")) if any(cell.strip() for cell in row)]
    if rows and rows[0] and rows[0][0].strip().lower() in ("number", "nummer", "phone", "telefon"):
        rows = rows[1:]  # a header line
    if not text or not rows or len(rows) > MAX_ROWS or any(len(row) < 2 for row in rows):
        flash(_("Upload a CSV file in UTF-8 with one contact a line: number, name (at most %(n)s lines).",
                n=MAX_ROWS), "error")
        return _page(), 400
    try:
        changed = save([(row[0], row[1]) for row in rows], "csv")
    except ValueError as exc:
        flash(_("Nothing was imported: a line has a number or name that needs fixing (%(why)s).", why=str(exc)),
              "error")
        return _page(), 400
    flash(_("%(n)s contacts imported or changed.", n=changed), "info")
    return redirect(url_for("contacts.index"))


@bp.route("/admin/contacts/phones", methods=["POST"])
@admin_required
def import_phones():
    changed = save(sorted(settings().phones.items()), "phones")
    flash(_("%(n)s contacts imported or changed.", n=changed), "info")
    return redirect(url_for("contacts.index"))


@bp.route("/admin/contacts/delete", methods=["POST"])
@admin_required
def delete():
    with audited("delete-contact", "address book"):
        get_store().contacts.delete(request.form.get("digits", ""))
    return redirect(url_for("contacts.index"))


def name_all_calls(number: str | None, label: str) -> None:
    """From a speaker's rename on a call: the name for every call of that number."""
    if not number:
        abort(400)
    try:
        save([(number, label)], "call")
    except NotAllowed:
        abort(403)
    except ValueError:
        abort(400)
