"""The LAN web UI: a Flask app factory, one blueprint per concern.

The web layer only reads the store (and writes what people do: users, renames, deletions,
the audit log); it never imports the worker or the recogniser.
"""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

from flask import Flask, g, request
from flask_login import current_user

from appliance.config import get_settings, Settings, site_secret
from appliance.store import Store
from appliance.transcript.paragraphs import paragraphs


def create_app(test_config: dict | None = None, settings: Settings | None = None) -> Flask:
    settings = settings or get_settings()
    app = Flask(__name__)
    app.config.from_mapping(
        APPLIANCE_SETTINGS=settings,
        SECRET_KEY=site_secret(settings.data_dir, "secret_key"),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.cookie_secure,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SECURE=settings.cookie_secure,
        REMEMBER_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=settings.session_hours),
        WTF_CSRF_TIME_LIMIT=None,  # tied to the session instead, which expires
        MAX_CONTENT_LENGTH=1 << 20,  # the UI uploads nothing big
        BABEL_DEFAULT_LOCALE="en",
    )
    if test_config:
        app.config.update(test_config)

    from appliance.web import (
        admin, alerts, api, auth, calls, contacts, conversations, crm, dashboard, edits, errorpages, events, i18n, intake,
        jobs, labels, live, menu, ops, passwords, reviews, saved, search, worker, bulk,
    )
    from appliance.web.inputs import AsciiIntConverter

    # Before any route is added: every <int:...> in the app is ASCII digits of a bounded length.
    app.url_map.converters["int"] = AsciiIntConverter
    auth.init_app(app)
    i18n.init_app(app)
    labels.init_app(app)
    errorpages.init_app(app)
    app.jinja_env.filters.update(pagequery=_page_query, sortquery=_sort_query, basename=lambda path: Path(path).name,
                                 paragraphs=paragraphs)
    # ops: health, retention, legal hold, erasure; crm: webhooks, date-range export, keywords and
    # summaries; menu: the voice menu's tries on the call page; conversations: linked legs;
    # worker: remote transcription workers; intake: recordings a PBX on another machine uploads;
    # edits: transcript corrections; contacts: the address book; dashboard: figures per day for
    # supervisors; reviews: scorecards and comments; alerts: phrase alerts; saved: each user's saved
    # list filters; bulk: export, hold and delete of the calls ticked on the list.
    for blueprint in (auth.bp, calls.bp, search.bp, jobs.bp, admin.bp, api.bp, events.bp, ops.bp, crm.bp, menu.bp,
                      conversations.bp, worker.bp, intake.bp, passwords.bp, edits.bp, contacts.bp, dashboard.bp,
                      reviews.bp, alerts.bp, saved.bp, bulk.bp):
        app.register_blueprint(blueprint)
    live.init_app(app)  # calls in progress (live transcription)

    @app.context_processor
    def render_time() -> dict:
        # Pages that follow live changes start their event stream from this moment.
        return {"rendered_at": repr(time.time())}

    @app.teardown_appcontext
    def close_store(_exc) -> None:
        g.pop("scoped_store", None)  # a view of g.store's connection
        store = g.pop("store", None)
        if store is not None:
            store.close()

    @app.after_request
    def security_headers(response):
        # Everything the page needs is served by the appliance itself.
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; media-src 'self'; style-src 'self'; "
            "script-src 'self'; frame-ancestors 'none'; form-action 'self'",
        )
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        # Call pages, audio, exports and API answers must not stay in a shared or browser cache.
        if current_user.is_authenticated or request.path.startswith("/api/"):
            response.headers["Cache-Control"] = "no-store"
        return response

    return app


def _page_query(args, page: int) -> str:
    """The current query string with another page number (filters kept)."""
    return urlencode({**args.to_dict(), "page": page})


def _sort_query(args, sort: str, direction: str) -> str:
    """The current query string sorted another way, from its first page (filters kept)."""
    kept = {key: value for key, value in args.to_dict().items() if key != "page"}
    return urlencode({**kept, "sort": sort, "dir": direction})


def open_store() -> Store:
    """The request's store connection, seeing every call: for accounts and login only (the
    user's scope is not known before they are loaded). Closed at teardown."""
    if "store" not in g:
        from flask import current_app

        g.store = Store.open(current_app.config["APPLIANCE_SETTINGS"])
    return g.store


def get_store() -> Store:
    """The request's store as the logged-in user sees it: their scope on every call query
    (no call at all without a login). See appliance/store/scopes.py."""
    if "scoped_store" not in g:
        from flask_login import current_user

        from appliance.store.scopes import Scope

        scope = current_user.scope if current_user.is_authenticated else Scope.NONE
        g.scoped_store = open_store().scoped(scope)
    return g.scoped_store


def settings():
    from flask import current_app

    return current_app.config["APPLIANCE_SETTINGS"]
