"""One's own password: changed only with the current one, and forced after an admin set it.

A password an admin set (generated on the users page or by `appliance users`) is temporary:
until its user has chosen their own, every page sends them to this form (auth.require_login);
API tokens are not held up. The current password is a guess like a login's, counted by the same
throttle; a change ends the user's other sessions and revokes their API tokens.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user

from appliance.web import get_store
from appliance.web.auth import WebUser, audit, audited, begin_attempt, hash_password, password_matches

bp = Blueprint("passwords", __name__)
MIN_LENGTH = 12  # characters (ASVS 2.1.1); no rules about which ones (2.1.9)
MAX_LENGTH = 128  # at least 64 must be allowed (2.1.2); a bound keeps the hash's input small


@bp.route("/account/password", methods=["GET", "POST"])
def change():
    if request.method == "GET":
        return _form()
    form = request.form
    current, new = form.get("current") or "", form.get("new") or ""
    if not MIN_LENGTH <= len(new) <= MAX_LENGTH or new != form.get("repeat"):
        return _refused(_("The new password needs %(least)s to %(most)s characters, typed the same twice.",
                          least=MIN_LENGTH, most=MAX_LENGTH), 400)
    if new == current:
        return _refused(_("Choose a new password, not the current one."), 400)
    store, user = get_store(), current_user.record
    target = f"user {user.username}"
    attempt = begin_attempt(user.username)
    if attempt is None:
        audit("password-change-throttled", target)
        return _refused(_("Too many failed tries. Wait a few minutes and try again."), 429)
    if not password_matches(store.users.get(user.id), current):
        audit("password-change-failed", target)
        return _refused(_("The current password is wrong."), 403)
    store.logins.forgive(*attempt)
    hashed = hash_password(new)  # before the transaction: the slow hash holds no write lock
    with audited("password-change", target):
        store.users.set_password(user.id, hashed)
    login_user(WebUser(store.users.get(user.id)))  # this session goes on under the new version
    flash(_("Password changed. Your other sessions and your API tokens have ended."), "info")
    return redirect(url_for("calls.index") if user.password_temporary else url_for("admin.account"))


def _form():
    return render_template("password.html", least=MIN_LENGTH, most=MAX_LENGTH)


def _refused(message: str, status: int):
    flash(message, "error")
    return _form(), status
