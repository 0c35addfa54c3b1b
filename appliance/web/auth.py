"""Accounts: login and logout, sessions, API tokens, roles, CSRF and login throttling.

Every route needs a login, enforced once for the whole app (`require_login`), so a new view
cannot forget it; only the login page and static files are open. Admin-only views carry
`@admin_required`. Which calls a user sees is their scope, applied by the store itself
(get_store(), appliance/store/scopes.py); `can_edit(user, call)` says whether they may change
one. Passwords and API tokens are stored hashed.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
import time
from functools import wraps
from urllib.parse import unquote, urlsplit

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from flask_wtf import CSRFProtect, FlaskForm
from werkzeug.security import check_password_hash, generate_password_hash
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired

from appliance.errors import NotFound
from appliance.store import name_key
from appliance.store.scopes import Scope
from appliance.web import get_store, open_store, settings

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
csrf = CSRFProtect()

OPEN_ENDPOINTS = {"auth.login", "static", "ops.healthz"}  # /healthz: no data, for monitoring
OPEN_BLUEPRINTS = {"worker", "intake"}  # remote workers, PBX uploads: their own token on every request instead
# All a user whose password an admin set may reach before choosing their own (passwords.py).
WHILE_PASSWORD_TEMPORARY = {"passwords.change", "auth.logout"}
THROTTLE_WINDOW = 15 * 60


class WebUser(UserMixin):
    def __init__(self, record, by_token: bool = False) -> None:
        self.record = record
        self.id = str(record.id)
        self.by_token = by_token  # an API token's script, not a person at a page

    def get_id(self) -> str:
        # The session version travels in the cookie: a logout or a new password raises it in
        # the database, and every cookie issued before stops working (not just this browser's).
        return f"{self.record.id}:{self.record.session_version}"

    @property
    def username(self) -> str:
        return self.record.username

    @property
    def is_admin(self) -> bool:
        return self.record.role == "admin"

    @property
    def locale(self) -> str:
        return self.record.locale

    @property
    def must_change_password(self) -> bool:
        return self.record.password_temporary and not self.by_token

    @property
    def timezone(self) -> str | None:
        return self.record.timezone

    @functools.cached_property
    def scope(self) -> Scope:
        """The calls this user sees, and whether they may edit them (loaded once a request)."""
        return open_store().users.scope_for(self.record)


def can_edit(user, call) -> bool:
    """Whether `user` (current_user) may change `call` (a CallSummary or a call id): rename its
    speakers, edit its transcript. The call must be in their scope and their role allow edits.
    Check it in the view before a change; the store checks again (store.calls.check_edit)."""
    if not getattr(user, "is_authenticated", False) or not user.scope.may_edit:
        return False
    return open_store().scoped(user.scope).calls.visible(getattr(call, "id", call))


def hash_password(password: str) -> str:
    return generate_password_hash(password)


def new_password() -> str:
    return secrets.token_urlsafe(12)


def hash_token(token: str) -> str:
    # Tokens are long random strings: a plain digest is enough, and lookups stay indexable.
    return hashlib.sha256(token.encode()).hexdigest()


def new_api_token() -> str:
    return "ca_" + secrets.token_urlsafe(32)


def init_app(app) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "strong"
    csrf.init_app(app)
    app.before_request(require_login)
    app.jinja_env.globals["can_edit"] = lambda call: can_edit(current_user, call)


@login_manager.user_loader
def load_user(session_id: str):
    user_id, _, version = session_id.partition(":")
    if not (user_id.isdigit() and version.isdigit()):
        return None
    try:
        record = open_store().users.get(int(user_id))
    except NotFound:
        return None
    if record.disabled or record.session_version != int(version):
        return None
    return WebUser(record)


@login_manager.request_loader
def load_user_from_token(req):
    # A token is for a script reading the API (scope "read"): on a page (users, audit, erasure,
    # audio) or with a method that changes something it is no login at all, so a leaked token
    # reaches the calls' JSON and nothing more.
    header = req.headers.get("Authorization", "")
    if not header.startswith("Bearer ") or not req.path.startswith("/api/") or req.method not in ("GET", "HEAD"):
        return None
    record = open_store().users.by_token_hash(hash_token(header[7:].strip()))
    return WebUser(record, by_token=True) if record else None


def wants_json() -> bool:
    return request.path.startswith(("/api/", "/events"))


def require_login():
    if request.endpoint in OPEN_ENDPOINTS or request.blueprint in OPEN_BLUEPRINTS:
        return None
    if current_user.is_authenticated:
        if current_user.must_change_password and request.endpoint not in WHILE_PASSWORD_TEMPORARY:
            if wants_json():
                return ({"error": "choose your own password first"}, 403)
            return redirect(url_for("passwords.change"))
        return None
    if wants_json() or request.endpoint is None:
        return ({"error": "login required"}, 401)
    return redirect(url_for("auth.login", next=request.full_path))


def admin_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        if not current_user.is_admin:
            abort(403)
        return view(*args, **kwargs)

    return wrapper


def _actor() -> str | None:
    return current_user.username if current_user.is_authenticated else None


def audit(action: str, target: str | None = None, detail: str | None = None) -> None:
    get_store().audit.add(_actor(), action, target, detail)


def audited(action: str, target: str | None = None, detail: str | None = None):
    """A block of store changes and their audit entry as one transaction (store.audit.entry)."""
    return get_store().audit.entry(_actor(), action, target, detail)


class LoginForm(FlaskForm):
    username = StringField("username", validators=[DataRequired()])
    password = PasswordField("password", validators=[DataRequired()])


def _safe_next(target: str | None) -> str:
    """`target` if it is a path on this site, else the call list: an open redirect would let a
    phishing link borrow our login page. Browsers drop tabs and newlines inside a URL, read "\\"
    as "/" and some servers decode %2F, so each decoded form must pass, and anything but
    printable ASCII (a fullwidth "／" becomes "/" after NFKC) is refused outright."""
    home = url_for("calls.index")
    if not target:
        return home
    form = target
    for _ in range(3):  # the value and up to two percent-decodings of it
        if not _local_path(form):
            return home
        form = unquote(form)
    return target if _local_path(form) else home


def _local_path(target: str) -> bool:
    if not all(" " < ch < "\x7f" for ch in target) or "\\" in target:
        return False
    parts = urlsplit(target)
    return target.startswith("/") and not target.startswith("//") and not (parts.scheme or parts.netloc)


# A wrong guess costs the guesser, not the account's owner: one address gets `limit` guesses
# per account (and ADDRESS_FACTOR times that over all accounts) in the window, then 429; the
# owner elsewhere can still log in, only slowed by a delay that grows with the account's
# failures from every address, capped so that it cannot hold a page thread for long.
ADDRESS_FACTOR = 4
DELAY_FIRST_SECONDS = 0.1
DELAY_CAP_SECONDS = 2.0


def slowdown(account_failures: int, limit: int) -> float:
    """Seconds to wait before checking a password, after `account_failures` from anywhere."""
    if account_failures < limit:
        return 0.0
    return min(DELAY_FIRST_SECONDS * 2 ** (account_failures - limit), DELAY_CAP_SECONDS)


@functools.cache
def _dummy_hash() -> str:
    # A hash of the same kind and cost as a real one, checked for unknown or disabled names so
    # that the answer takes as long and does not tell which names exist.
    return hash_password(secrets.token_urlsafe(16))


def password_matches(record, password: str) -> bool:
    known = record is not None and not record.disabled
    matches = check_password_hash(record.password_hash if known else _dummy_hash(), password)
    return known and matches


def begin_attempt(username: str) -> tuple[list[int], str] | None:
    """Count one password try at `username` from this address, before the password is checked
    (None: this address has had its tries), and wait the account's delay. Returns what
    `get_store().logins.forgive` takes when the password was right."""
    account = name_key(username)
    limit = settings().login_attempts_per_15_minutes
    pair = f"pair:{account}|{request.remote_addr}"
    limits = {pair: limit, f"ip:{request.remote_addr}": limit * ADDRESS_FACTOR, f"user:{account}": None}
    attempt = get_store().logins.begin(limits, since=time.time() - THROTTLE_WINDOW)
    if attempt is None:
        return None
    rows, counts = attempt
    time.sleep(slowdown(counts[f"user:{account}"], limit))
    return rows, pair


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        store = get_store()
        username = form.username.data.strip()
        attempt = begin_attempt(username)
        if attempt is None:
            store.audit.add(username, "login-throttled")
            flash(_("Too many failed logins. Wait a few minutes and try again."), "error")
            return render_template("login.html", form=form), 429
        record = store.users.by_name(username)
        if password_matches(record, form.password.data):
            store.logins.forgive(*attempt)
            session.clear()
            login_user(WebUser(record))
            session.permanent = True
            with store.audit.entry(record.username, "login"):
                store.users.note_login(record.id)
            if record.password_temporary:
                return redirect(url_for("passwords.change"))
            return redirect(_safe_next(request.args.get("next")))
        store.audit.add(username, "login-failed")
        flash(_("Wrong user name or password."), "error")
        return render_template("login.html", form=form), 401
    return render_template("login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():
    audit("logout")
    if current_user.is_authenticated:
        get_store().users.end_sessions(int(current_user.record.id))
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))
