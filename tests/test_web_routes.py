"""The web UI's guards, route by route: login everywhere, CSRF, admin-only views, the login
form and its throttle, session cookies, paths that must not reach files, security headers,
the event stream, and the `appliance users add` command that makes the first account."""

import itertools
import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from appliance.errors import NotFound
from appliance.transcript.model import CallMeta
from support.web import (
    ADMIN_PASSWORD,
    VIEWER_PASSWORD,
    audit_actions,
    choose_password,
    csrf_token,
    hashed,
    login,
    make_app,
    post,
    recorded_call,
    talk,
    write_wav,
)
from support.processes import APPLIANCE

WEB = Path(__file__).resolve().parents[1] / "appliance" / "web"


def a_call(store, tmp_path, uniqueid="c1"):
    """A finished call with a real stereo WAV recording."""
    wav = write_wav(tmp_path / f"{uniqueid}.wav")
    meta = CallMeta(uniqueid=uniqueid, caller="+49 30 1234567", callee="200",
                    direction="inbound", started_at="2024-05-02T10:00:00+00:00")
    return recorded_call(store, [wav], meta, talk([(0, "hello I have a question"), (1, "sure go ahead")]))


def a_failed_job(store, tmp_path):
    """A call whose only job failed for good (a worker gave up after its attempts)."""
    result = store.intake.enqueue(CallMeta(uniqueid="bad", caller="555"), [tmp_path / "bad.raw"], {})
    job = store.jobs.claim("web-test", 60)
    assert job.id == result.job_id
    assert store.jobs.fail(job.id, "web-test", "decoder gave up", permanent=False,
                          max_attempts=1, backoff_seconds=1) == "failed"
    return result


# --- every route needs a login ---------------------------------------------------------------


def test_only_the_login_page_static_files_and_healthz_are_open_without_a_login(app, client):
    # An anonymous session still carries a CSRF token, so POSTs reach the login guard.
    token = csrf_token(client, "/login")
    open_endpoints = set()
    checked = 0
    for rule in app.url_map.iter_rules():
        path = re.sub(r"<[^>]+>", "1", rule.rule)
        for method in sorted(rule.methods & {"GET", "POST"}):
            data = {"csrf_token": token} if method == "POST" else None
            response = client.open(path, method=method, data=data, buffered=True)
            checked += 1
            if rule.endpoint in ("auth.login", "static", "ops.healthz"):
                assert response.status_code in (200, 404, 503), (method, path)
                open_endpoints.add(rule.endpoint)
            elif path.startswith(("/api/", "/events")):
                assert response.status_code == 401, (method, path)
                assert response.get_json() == {"error": "login required"}
            elif path.startswith("/worker/"):
                # Remote workers log in with a per-job token instead (tests/test_remote_jobs.py).
                assert response.status_code == 401 and "error" in response.get_json(), (method, path)
            else:
                assert response.status_code == 302, (method, path, response.status_code)
                assert response.headers["Location"].startswith("/login"), (method, path)
            response.close()
    assert open_endpoints == {"auth.login", "static", "ops.healthz"}
    assert checked >= 20
    # And they really are open: the form and a stylesheet, without a session.
    anonymous = app.test_client()
    assert anonymous.get("/login").status_code == 200
    with anonymous.get("/static/app.css") as stylesheet:
        assert stylesheet.status_code == 200


def test_the_login_redirect_remembers_the_page_asked_for(client):
    response = client.get("/search?q=invoice")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/search?q%3Dinvoice"


# --- CSRF ------------------------------------------------------------------------------------


def _speaker_label(store, call_id):
    return store.transcripts.get(call_id).speakers[0].label


def _call_exists(store, call_id):
    try:
        store.calls.get(call_id)
        return True
    except NotFound:
        return False


# (path, form, what to look at, its value before, its value after the real POST)
CSRF_CASES = {
    "rename": ("/calls/{call}/speakers/0", {"label": "Mallory"},
               lambda store, ids: _speaker_label(store, ids["call"]), "Caller", "Mallory"),
    "delete": ("/calls/{call}/delete", {},
               lambda store, ids: _call_exists(store, ids["call"]), True, False),
    "retry": ("/jobs/{job}/retry", {},
              lambda store, ids: store.jobs.get(ids["job"]).state, "failed", "queued"),
    "add-user": ("/admin/users", {"username": "eve", "role": "admin"},
                 lambda store, ids: store.users.by_name("eve") is not None, False, True),
    "locale": ("/account", {"action": "locale", "locale": "de"},
               lambda store, ids: store.users.by_name("ada").locale, "en", "de"),
    "token": ("/account", {"action": "token", "name": "crm"},
              lambda store, ids: len(store.users.api_tokens(store.users.by_name("ada").id)), 0, 1),
}


def app_client_other_session(client):
    """Another visitor's browser: a token from its session must not work in ours."""
    return client.application.test_client()


@pytest.mark.parametrize("case", CSRF_CASES, ids=list(CSRF_CASES))
def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(case, admin_client, store, tmp_path):
    path, form, probe, before, after = CSRF_CASES[case]
    ids = {"call": a_call(store, tmp_path).call_id, "job": a_failed_job(store, tmp_path).job_id}
    path = path.format(**ids)

    for token in (None, "forged-token", csrf_token(app_client_other_session(admin_client))):
        data = dict(form) if token is None else {**form, "csrf_token": token}
        response = admin_client.post(path, data=data)
        assert response.status_code == 400, (path, token)
        assert "CSRF" in response.get_data(as_text=True)
        assert probe(store, ids) == before

    response = post(admin_client, path, form)
    assert response.status_code in (200, 302), response.status_code
    assert probe(store, ids) == after


def test_logout_without_the_csrf_token_keeps_the_session(admin_client):
    assert admin_client.post("/logout").status_code == 400
    assert admin_client.get("/").status_code == 200
    assert post(admin_client, "/logout").status_code == 302
    assert admin_client.get("/").status_code == 302


def test_the_api_needs_no_csrf_token_for_get(admin_client):
    assert admin_client.get("/api/calls").status_code == 200


# --- admin-only views ------------------------------------------------------------------------

ADMIN_ONLY = [
    ("GET", "/jobs", {}),
    ("POST", "/jobs/{job}/retry", {}),
    ("GET", "/admin/users", {}),
    ("POST", "/admin/users", {"username": "mallory", "role": "admin"}),
    ("POST", "/admin/users/{viewer}", {"action": "access", "role": "admin"}),
    ("GET", "/admin/audit", {}),
    ("GET", "/calls/{call}/delete", {}),
    ("POST", "/calls/{call}/delete", {}),
]


@pytest.mark.parametrize("method, path, form", ADMIN_ONLY, ids=[f"{m} {p}" for m, p, _ in ADMIN_ONLY])
def test_a_viewer_is_forbidden_the_admin_views_and_changes_nothing(
    method, path, form, app, viewer_user, store, tmp_path
):
    ids = {"call": a_call(store, tmp_path).call_id, "job": a_failed_job(store, tmp_path).job_id,
           "viewer": viewer_user.id}
    client = app.test_client()
    login(client, "vic", VIEWER_PASSWORD)
    path = path.format(**ids)
    if method == "GET":
        response = client.get(path)
    else:
        response = post(client, path, form)
    assert response.status_code == 403
    assert store.calls.get(ids["call"]).id == ids["call"]
    assert store.jobs.get(ids["job"]).state == "failed"
    assert store.users.by_name("mallory") is None
    assert store.users.get(viewer_user.id).role == "viewer"


@pytest.mark.parametrize("method, path, form", ADMIN_ONLY, ids=[f"{m} {p}" for m, p, _ in ADMIN_ONLY])
def test_an_admin_reaches_the_admin_views(method, path, form, admin_client, viewer_user, store, tmp_path):
    ids = {"call": a_call(store, tmp_path).call_id, "job": a_failed_job(store, tmp_path).job_id,
           "viewer": viewer_user.id}
    path = path.format(**ids)
    if method == "GET":
        response = admin_client.get(path)
        assert response.status_code == 200
    else:
        response = post(admin_client, path, form)
        assert response.status_code in (200, 302)


def test_a_viewer_sees_no_admin_links_or_delete_link(viewer_client, store, tmp_path):
    call_id = a_call(store, tmp_path).call_id
    html = viewer_client.get(f"/calls/{call_id}").get_data(as_text=True)
    for link in ("/jobs", "/admin/users", "/admin/audit", f"/calls/{call_id}/delete"):
        assert f'href="{link}"' not in html


# --- login, throttle, cookies, logout --------------------------------------------------------


def test_a_wrong_password_is_refused_with_a_message_and_audited(client, admin_user, store):
    response = login(client, "ada", "not-the-password")
    assert response.status_code == 401
    assert "Wrong user name or password." in response.get_data(as_text=True)
    assert client.get("/").status_code == 302
    # An unknown user reads the same: the form does not tell which names exist.
    unknown = login(client, "nobody", "whatever")
    assert unknown.status_code == 401
    assert "Wrong user name or password." in unknown.get_data(as_text=True)
    assert [e.actor for e in audit_actions(store, "login-failed")] == ["nobody", "ada"]
    assert audit_actions(store, "login") == []


def test_the_right_password_logs_in_and_is_audited(client, admin_user, store):
    response = login(client, "ada", ADMIN_PASSWORD)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert client.get("/").status_code == 200
    assert [e.actor for e in audit_actions(store, "login")] == ["ada"]


def test_after_too_many_failures_even_the_right_password_is_refused(make_settings, store):
    app = make_app(make_settings(login_attempts_per_15_minutes=3))
    store.users.add("ada", hashed(ADMIN_PASSWORD), "admin")
    client = app.test_client()
    for _ in range(3):
        assert login(client, "ada", "guess").status_code == 401
    response = login(client, "ada", ADMIN_PASSWORD)
    assert response.status_code == 429
    assert "Too many failed logins" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302
    assert len(audit_actions(store, "login-failed")) == 3
    assert len(audit_actions(store, "login-throttled")) == 1


def test_the_throttle_also_counts_per_address(make_settings, store):
    app = make_app(make_settings(login_attempts_per_15_minutes=1))
    store.users.add("ada", hashed(ADMIN_PASSWORD), "admin")
    client = app.test_client()
    for name in ("amy", "bob", "cat", "dan"):  # one guess each at four names, from one address
        assert login(client, name, "guess").status_code == 401
    assert login(client, "ada", ADMIN_PASSWORD).status_code == 429
    # Another address is not held back by this one's guesses.
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "192.0.2.7"
    assert login(other, "ada", ADMIN_PASSWORD).status_code == 302


def test_a_disabled_user_cannot_log_in(client, admin_user, viewer_user, store):
    store.users.set_disabled(viewer_user.id, True)
    response = login(client, "vic", VIEWER_PASSWORD)
    assert response.status_code == 401
    assert client.get("/").status_code == 302


def test_disabling_a_user_ends_their_session(app, viewer_client, admin_client, viewer_user):
    assert viewer_client.get("/").status_code == 200
    assert post(admin_client, f"/admin/users/{viewer_user.id}", {"action": "disable"}).status_code == 302
    assert viewer_client.get("/").status_code == 302


@pytest.mark.parametrize("target", ["//evil.example", "https://evil.example/", "/\\evil.example", "///evil.example"])
def test_login_never_redirects_off_the_box(client, admin_user, target):
    response = login(client, "ada", ADMIN_PASSWORD, next_url=target)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_login_returns_to_a_local_page(client, admin_user):
    response = login(client, "ada", ADMIN_PASSWORD, next_url="/search?q=invoice")
    assert response.headers["Location"] == "/search?q=invoice"


def _session_cookie(response) -> str:
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert len(cookies) == 1, response.headers.getlist("Set-Cookie")
    return cookies[0]


def test_the_session_cookie_is_http_only_and_same_site_lax(client, admin_user):
    cookie = _session_cookie(login(client, "ada", ADMIN_PASSWORD))
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie


def test_the_session_cookie_is_secure_when_served_over_tls(make_settings, store):
    app = make_app(make_settings(cookie_secure=True))
    store.users.add("ada", hashed(ADMIN_PASSWORD), "admin")
    client = app.test_client()
    cookie = _session_cookie(login(client, "ada", ADMIN_PASSWORD))
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_logout_ends_the_session_and_is_audited(admin_client, store):
    response = post(admin_client, "/logout")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    assert admin_client.get("/").status_code == 302
    assert admin_client.get("/api/calls").status_code == 401
    assert [e.actor for e in audit_actions(store, "logout")] == ["ada"]


# --- paths that must not reach files ---------------------------------------------------------

TRAVERSALS = [
    "/calls/1/audio/../../etc/passwd",
    "/calls/1/audio/..%2F..%2Fetc%2Fpasswd",
    "/calls/1/export/..%2F..%2Fetc%2Fpasswd",
    "/calls/1/export/../../../etc/passwd",
    "/calls/1/export/txt%00",
    "/calls/1/export/txt%00.pdf",
    "/calls/1/export/pdf",
    "/calls/1/export/TXT",
    "/static/../appliance.db",
    "/static/..%2F__init__.py",
    "/static/%2e%2e/__init__.py",
    "/static/../__init__.py",
    "/calls/%2e%2e/audio",
    "/calls/..%2F..%2Fetc%2Fpasswd/audio",
    "/calls/-1/audio",
    "/calls/99/audio",
]


@pytest.mark.parametrize("path", TRAVERSALS)
def test_no_path_reaches_a_file_it_should_not(path, admin_client, store, tmp_path, settings):
    a_call(store, tmp_path)
    response = admin_client.get(path)
    assert response.status_code in (400, 404), response.status_code
    body = response.get_data()
    for secret in (b"root:", b"SQLite format", b"def create_app", b"RIFF"):
        assert secret not in body


def test_exports_exist_for_the_known_formats_only(admin_client, store, tmp_path):
    call_id = a_call(store, tmp_path).call_id
    expected = {"txt": "text/plain", "srt": "application/x-subrip", "vtt": "text/vtt",
                "json": "application/json",
                "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}
    for fmt, mimetype in expected.items():
        response = admin_client.get(f"/calls/{call_id}/export/{fmt}")
        assert response.status_code == 200, fmt
        assert response.mimetype == mimetype
        assert f"call-{call_id}.{fmt}" in response.headers["Content-Disposition"]
        assert response.headers["Content-Disposition"].startswith("attachment")
    assert "hello I have a question" in admin_client.get(f"/calls/{call_id}/export/txt").get_data(as_text=True)
    for fmt in ("pdf", "html", "wav", "exe", "py"):
        assert admin_client.get(f"/calls/{call_id}/export/{fmt}").status_code == 404


# --- security headers and no outside resources -----------------------------------------------


@pytest.mark.parametrize("path", ["/login", "/static/app.css"])
def test_every_response_carries_a_strict_content_security_policy(client, path):
    response = client.get(path)
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    response.close()


def test_logged_in_pages_carry_the_policy_too(admin_client):
    for path in ("/", "/search", "/jobs", "/account", "/api/calls"):
        assert "default-src 'self'" in admin_client.get(path).headers["Content-Security-Policy"], path


def test_no_template_or_static_file_loads_anything_from_outside_the_box():
    files = [p for p in (*WEB.glob("templates/**/*"), *WEB.glob("static/**/*")) if p.is_file()]
    assert len(files) >= 10
    for path in files:
        # An SVG's namespace is a name, not something fetched.
        text = path.read_text(encoding="utf-8").replace('xmlns="http://www.w3.org/2000/svg"', "")
        for needle in ("http://", "https://", "//cdn"):
            assert needle not in text, f"{path.relative_to(WEB)} contains {needle}"


# --- the event stream ------------------------------------------------------------------------


def test_the_event_stream_needs_a_login(client):
    response = client.get("/events")
    assert response.status_code == 401
    assert response.get_json() == {"error": "login required"}


def test_the_event_stream_is_server_sent_events(admin_client):
    response = admin_client.get("/events", buffered=False)
    try:
        assert response.status_code == 200
        assert response.mimetype == "text/event-stream"
        assert response.headers["Cache-Control"] == "no-store"  # no cache keeps call events
        first = next(iter(response.response))
        assert (first.decode() if isinstance(first, bytes) else first).startswith("retry:")
    finally:
        response.close()


def _first_events(client, path, count, headers=None):
    """The first `count` chunks of a stream (each read returns at once: changes are waiting)."""
    response = client.get(path, headers=headers or {}, buffered=False)
    try:
        chunks = itertools.islice(response.response, count)  # never asks for one more: it would wait
        return [chunk.decode() if isinstance(chunk, bytes) else chunk for chunk in chunks]
    finally:
        response.close()


def _event(chunk: str) -> tuple[str, dict]:
    fields = dict(line.split(": ", 1) for line in chunk.strip().splitlines())
    assert fields["event"] == "call"
    return fields["id"], json.loads(fields["data"])


def test_the_event_stream_replays_what_changed_since_the_page_and_resumes_by_last_event_id(
    admin_client, store, tmp_path
):
    first = a_call(store, tmp_path, "e1").call_id
    retry, chunk = _first_events(admin_client, "/events?since=0", 2)
    assert retry.startswith("retry:")
    mark, data = _event(chunk)
    assert data["id"] == first and data["state"] == "done" and data["error"] is None

    second = a_call(store, tmp_path, "e2").call_id
    # A reconnecting browser sends the last id back; it wins over the page's ?since=.
    _, chunk = _first_events(admin_client, "/events?since=0", 2, headers={"Last-Event-ID": mark})
    assert _event(chunk)[1]["id"] == second
    _, chunk = _first_events(admin_client, f"/events?since={mark}", 2)
    assert _event(chunk)[1]["id"] == second


# --- the first account, from the command line ------------------------------------------------


def test_users_add_prints_a_password_once_that_logs_in(tmp_path, settings, models_dir):
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "APPLIANCE_CONFIG": "/dev/null",
           "APPLIANCE_DATA_DIR": str(settings.data_dir), "APPLIANCE_MODELS_DIR": str(models_dir)}
    result = subprocess.run([str(APPLIANCE), "users", "add", "root-admin", "--role", "admin"],
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("user root-admin (admin) created; password: ")
    password = lines[0].rsplit(" ", 1)[1]
    assert len(password) >= 12

    app = make_app(settings)
    client = app.test_client()
    assert login(client, "root-admin", password).headers["Location"] == "/account/password"
    assert client.get("/admin/users").headers["Location"] == "/account/password"  # generated: choose one first
    assert choose_password(client, password, "root-admin's own password").status_code == 302
    assert client.get("/admin/users").status_code == 200  # an admin indeed

    again = subprocess.run([str(APPLIANCE), "users", "add", "root-admin"],
                           env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 1
    assert password not in again.stdout + again.stderr
    assert login(app.test_client(), "root-admin", "root-admin's own password").status_code == 302


def test_users_add_and_scope_give_a_role_what_it_sees_from_the_command_line(settings, store):
    from click.testing import CliRunner

    from appliance.cli import cli

    env = {"APPLIANCE_CONFIG": "/dev/null", "APPLIANCE_DATA_DIR": str(settings.data_dir)}
    runner = CliRunner()
    added = runner.invoke(cli, ["users", "add", "desk", "--role", "receptionist", "--scope", "mailbox:300",
                                "--scope", "nummer:+49 30 123"], env=env)
    assert added.exit_code == 0, added.output
    desk = store.users.by_name("desk")
    assert desk.role == "receptionist" and not desk.may_edit
    assert [(e.kind, e.value) for e in store.users.scope_entries(desk.id)] == [("mailbox", "300"), ("number", "+4930123")]

    changed = runner.invoke(cli, ["users", "scope", "desk", "--scope", "group:Front desk", "--may-edit"], env=env)
    assert changed.exit_code == 0 and "sees: group:Front desk  may edit" in changed.output
    listed = runner.invoke(cli, ["users", "list"], env=env).output
    assert "desk" in listed and "receptionist" in listed

    bad = runner.invoke(cli, ["users", "add", "eve", "--scope", "planet:mars"], env=env)
    assert bad.exit_code == 2 and "planet" in bad.output and store.users.by_name("eve") is None
