"""Administration: user accounts and the audit log (admin only), and each user's own account."""

from __future__ import annotations

import io
import json
import re
import threading
import time
from datetime import date, datetime, timedelta, timezone

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import get_timezone
from flask_babel import gettext as _
from flask_login import current_user

from appliance.errors import BadScope, LastAdmin, NotFound
from appliance.store import ROLES, scopes
from appliance.store.filters import day_start
from appliance.web import get_store, settings
from appliance.web.auth import admin_required, audit, audited, hash_password, hash_token, new_api_token, new_password
from appliance.web.i18n import LANGUAGES, zone_names
from appliance.web.csvcells import csv_bytes
from appliance.web.inputs import bounded_int, form_int, page_number
from appliance.web.labels import error_text

bp = Blueprint("admin", __name__)
AUDIT_PAGE = 100
AUDIT_COLUMNS = ("id", "at", "user", "action", "target", "detail", "hash")
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
TOKEN_DAYS = (30, 90, 365)  # how long a new API token may live; the middle one is the default


def _access_form() -> tuple[str, list, bool]:
    """Role, scope entries and edit permission from the users page's form; BadScope names a bad entry."""
    role = request.form.get("role") if request.form.get("role") in ROLES else "viewer"
    return role, scopes.parse_entries(request.form.get("scope") or ""), request.form.get("may_edit") == "on"


@bp.route("/admin/users", methods=["GET", "POST"])
@admin_required
def users():
    store = get_store()
    if request.method == "GET":
        return _users_page()
    username = (request.form.get("username") or "").strip()
    locale = request.form.get("locale") if request.form.get("locale") in LANGUAGES else "en"
    try:
        role, entries, may_edit = _access_form()
    except BadScope as error:
        flash(_("This scope cannot be used: %(reason)s", reason=error_text(error)), "error")
        return _users_page()
    if not username or store.users.by_name(username):
        flash(_("Choose a user name that is not taken."), "error")
        return _users_page()
    password = new_password()
    hashed = hash_password(password)  # before the transaction: slow, no lock needed
    with audited("user-add", f"user {username}", f"{role}; sees {scopes.describe(entries) or 'nothing'}"):
        user = store.users.add(username, hashed, role, locale, temporary=True)
        store.users.set_scope_entries(user.id, entries)
        store.users.set_may_edit(user.id, may_edit)
    return _users_page(new=(_("User %(name)s created. Their password, to be changed at the first login:",
                              name=username), password))


def _users_page(new: tuple[str, str] | None = None):
    """The users page; `new`: a message and the password it introduces, shown on this page
    only (never stored in clear, nor carried in a flash message through the session cookie)."""
    store = get_store()
    rows = [(user, scopes.describe(store.users.scope_entries(user.id))) for user in store.users.all()]
    return render_template("users.html", rows=rows, roles=ROLES, new=new)


def _user_or_404(user_id: int):
    try:
        return get_store().users.get(user_id)
    except NotFound:
        abort(404)


@bp.route("/admin/users/<int:user_id>", methods=["POST"])
@admin_required
def update_user(user_id: int):
    store, user = get_store(), _user_or_404(user_id)
    action = request.form.get("action")
    if action not in ("access", "disable", "enable", "reset-password"):
        abort(400)
    detail = None
    if action == "access":
        try:
            role, entries, may_edit = _access_form()
        except BadScope as error:
            flash(_("This scope cannot be used: %(reason)s", reason=error_text(error)), "error")
            return redirect(url_for("admin.users"))
        detail = f"{role}; sees {scopes.describe(entries) or 'nothing'}; {'may' if may_edit else 'may not'} edit"
    # Hashed before the transaction: the slow hash need not hold the write lock.
    password = new_password()
    hashed = hash_password(password) if action == "reset-password" else None
    try:
        with audited(f"user-{action}", f"user {user.username}", detail):
            if action == "access":
                store.users.set_role(user_id, role)
                store.users.set_scope_entries(user_id, entries)
                store.users.set_may_edit(user_id, may_edit)
            elif action == "reset-password":
                store.users.set_password(user_id, hashed, temporary=True)
            else:
                store.users.set_disabled(user_id, action == "disable")
    except LastAdmin:
        flash(_("The last administrator cannot be demoted, disabled or deleted."), "error")
        return redirect(url_for("admin.users"))
    if action == "reset-password":
        return _users_page(new=(_("New password for %(name)s, to be changed at the next login:",
                                  name=user.username), password))
    return redirect(url_for("admin.users"))


@bp.route("/admin/users/<int:user_id>/delete", methods=["GET", "POST"])
@admin_required
def delete_user(user_id: int):
    """After a confirmation; not one's own account, not the last admin. The user's sessions and
    tokens end with the account; their audit entries stay, under their name."""
    user = _user_or_404(user_id)
    if user.id == current_user.record.id:
        flash(_("You cannot delete your own account."), "error")
        return redirect(url_for("admin.users"))
    if request.method == "GET":
        return render_template("user_delete.html", user=user)
    try:
        with audited("user-delete", f"user {user.username}"):
            get_store().users.delete(user_id)
    except LastAdmin:
        flash(_("The last administrator cannot be demoted, disabled or deleted."), "error")
        return redirect(url_for("admin.users"))
    flash(_("%(name)s was deleted. Their entries in the audit log stay.", name=user.username), "info")
    return redirect(url_for("admin.users"))


@bp.route("/admin/audit")
@admin_required
def audit_log():
    store, wanted, query = get_store(), *_audit_filter()
    page = page_number()
    entries = store.audit.entries(limit=AUDIT_PAGE, offset=(page - 1) * AUDIT_PAGE, **wanted)
    return render_template("audit.html", entries=entries, page=page, query=query,
                           more=store.audit.count(**wanted) > page * AUDIT_PAGE)


@bp.route("/admin/audit/export.<fmt>")
@admin_required
def audit_export(fmt: str):
    """The filtered log as a file; exporting it is itself an entry. No route changes an entry."""
    if fmt not in ("csv", "json"):
        abort(404)
    wanted, query = _audit_filter()
    audit("audit-export", None, f"{fmt} {' '.join(f'{k}={v}' for k, v in query.items())}".strip())
    rows = [[e.id, datetime.fromtimestamp(e.at, timezone.utc).isoformat(), e.actor, e.action, e.target,
             e.detail, e.hash] for e in get_store().audit.entries(limit=None, **wanted)]
    if fmt == "json":
        body = json.dumps([dict(zip(AUDIT_COLUMNS, row)) for row in rows], ensure_ascii=False, indent=1).encode()
        mimetype = "application/json"
    else:
        body, mimetype = csv_bytes(AUDIT_COLUMNS, rows), "text/csv; charset=utf-8"
    return send_file(io.BytesIO(body), mimetype=mimetype, as_attachment=True, download_name=f"audit-log.{fmt}")


def _audit_filter() -> tuple[dict, dict]:
    """The store's filter from the query string (user, action, from, to, call) and the
    arguments it came from, for links; a date or call that is not one is a 400."""
    args = request.args
    query = {name: args[name].strip() for name in ("user", "action", "from", "to", "call")
             if (args.get(name) or "").strip()}
    since, until = _day_start(query.get("from")), _day_start(query.get("to"), next_day=True)
    call = bounded_int(query.get("call"))
    if "call" in query and call is None:
        abort(400, description=_("A call is given by its number."))
    return {
        "actor": query.get("user"), "action": query.get("action"),
        "since": since, "until": until,
        "target": None if call is None else f"call {call}",
    }, query


def _day_start(value: str | None, next_day: bool = False) -> float | None:
    """The midnight starting a YYYY-MM-DD day of the user's zone (or the day after it), as unix
    seconds: a day with a daylight-saving change is not 24 hours."""
    if value is None:
        return None
    try:
        if not _ISO_DAY.fullmatch(value):
            raise ValueError(value)
        day = date.fromisoformat(value) + timedelta(days=next_day)
        return day_start(day.isoformat(), get_timezone()).timestamp()
    except ValueError:
        abort(400, description=_("A date is written YYYY-MM-DD."))


# One self-test at a time per app (a web process has one); its stages appear on the page as
# they pass. Kept on the app, so two apps in one process (tests) never see each other's run.
_selftest_lock = threading.Lock()


def _selftest_run() -> dict:
    return current_app.extensions.setdefault("selftest", {"running": False, "stages": [], "started": None})


@bp.route("/admin/selftest", methods=["GET", "POST"])
@admin_required
def selftest():
    run = _selftest_run()
    if request.method == "POST":
        with _selftest_lock:
            if not run["running"]:
                run.update(running=True, stages=[], started=time.time())
                config = settings()
                threading.Thread(target=_run_selftest, args=(config, run), daemon=True, name="selftest").start()
                audit("selftest")
        return redirect(url_for("admin.selftest"))
    return render_template("selftest.html", run=run)


def _run_selftest(config, run: dict) -> None:
    from appliance.asterisk.selftest import run_selftest

    try:
        run_selftest(config, on_stage=run["stages"].append)
    except Exception as exc:  # noqa: BLE001 - shown to the admin instead of dying in a thread
        from appliance.asterisk.selftest import Stage

        run["stages"].append(Stage("self-test", False, 0.0, f"{type(exc).__name__}: {exc}"))
    finally:
        run["running"] = False


@bp.route("/account", methods=["GET", "POST"])
def account():
    store = get_store()
    user_id = int(current_user.id)
    token = None
    if request.method == "POST":
        action = request.form.get("action")
        if action == "locale" and request.form.get("locale") in LANGUAGES:
            store.users.set_locale(user_id, request.form["locale"])
        elif action == "timezone":
            zone = request.form.get("timezone") or None  # empty: the site's
            if zone is not None and zone not in zone_names():
                abort(400)
            store.users.set_timezone(user_id, zone)
        elif action == "token":
            token = new_api_token()
            name = " ".join((request.form.get("name") or "").split())[:60] or "API"
            days = bounded_int(request.form.get("days"), TOKEN_DAYS[1])
            if days not in TOKEN_DAYS:
                abort(400)
            with audited("token-add", f"user {current_user.username}", f"{name}; read-only; {days} days"):
                store.users.add_api_token(user_id, name, hash_token(token), days)
        elif action == "revoke":
            try:
                with audited("token-revoke", f"user {current_user.username}"):
                    store.users.revoke_api_token(user_id, form_int("token_id"))
            except NotFound:
                abort(404)  # not one of this user's tokens
        else:
            abort(400)
        if token is None:
            return redirect(url_for("admin.account"))
    return render_template("account.html", tokens=store.users.api_tokens(user_id), token=token, token_days=TOKEN_DAYS,
                           zones=zone_names(), site_zone=settings().zone)
