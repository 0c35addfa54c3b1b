"""Account attacks against a real `appliance serve`: changing a password without the current
one (or without CSRF, or by guessing it), a generated password kept in use, deleting users."""

from __future__ import annotations

import re

import pytest



def _account(served, name: str, password: str, role: str = "viewer", temporary: bool = False):
    from appliance.web.auth import hash_password

    with served.store() as store:
        user = store.users.add(name, hash_password(password), role, temporary=temporary)
    served.passwords[name] = password
    return user


def _change(browser, current: str, new: str, repeat: str | None = None):
    return browser.post("/account/password", {"current": current, "new": new,
                                              "repeat": new if repeat is None else repeat},
                        token_from="/account/password")


def _logs_in(served, name: str, password: str, source: str = "127.0.0.9") -> bool:
    browser = served.browser(source)
    browser.take_token("/login")
    return browser.request("POST", "/login", {"username": name, "password": password,
                                              "csrf_token": browser.csrf}).status == 302


def _token(browser) -> str:
    page = browser.post("/account", {"action": "token", "name": "crm", "days": "90"}, token_from="/account")
    return re.search(r'<code id="new-token">([^<]+)</code>', page.text)[1]


def _bearer(served, token: str) -> int:
    return served.browser().request("GET", "/api/calls", headers={"Authorization": f"Bearer {token}"}).status


def _actions(served, action: str) -> list:
    with served.store() as store:
        return store.audit.entries(limit=1000, action=action)


def test_a_change_ends_the_users_other_sessions_and_tokens_but_nobody_elses(served):
    _account(served, "changer", "changer-old-pass")
    here, there = served.login("changer"), served.login("changer")
    token = _token(there)
    vic = served.login("vic")
    answer = _change(here, "changer-old-pass", "changer-new-pass")
    assert answer.status == 302 and answer.headers["Location"] == "/account"
    assert here.get("/").status == 200  # this session goes on
    assert there.get("/").status == 302  # the other one ended
    assert _bearer(served, token) == 401
    assert vic.get("/").status == 200  # another user's session is untouched
    assert not _logs_in(served, "changer", "changer-old-pass")
    assert _logs_in(served, "changer", "changer-new-pass")
    assert [e.actor for e in _actions(served, "password-change")] == ["changer"]


def test_a_session_without_the_current_password_cannot_change_it(served):
    _account(served, "desk", "desk-own-pass-1")
    browser = served.login("desk")
    answer = _change(browser, "a-wrong-guess", "the-attackers-pass")
    assert answer.status == 403 and "The current password is wrong." in answer.text
    assert _logs_in(served, "desk", "desk-own-pass-1")
    assert [e.actor for e in _actions(served, "password-change-failed")] == ["desk"]


def test_a_change_without_the_csrf_token_is_refused(served):
    _account(served, "csrf-victim", "csrf-victim-pass")
    browser = served.login("csrf-victim")
    answer = browser.request("POST", "/account/password", {"current": "csrf-victim-pass",
                                                           "new": "forged-new-pass", "repeat": "forged-new-pass"})
    assert answer.status == 400
    assert _logs_in(served, "csrf-victim", "csrf-victim-pass")


def test_guessing_the_current_password_is_throttled_like_a_login(served):
    _account(served, "guessed", "guessed-own-pass")
    browser = served.login("guessed", source="127.0.0.20")
    for n in range(5):
        assert _change(browser, f"guess-{n}", "the-attackers-pass").status == 403
    assert _change(browser, "guessed-own-pass", "the-attackers-pass").status == 429  # even the right one
    assert _logs_in(served, "guessed", "guessed-own-pass")
    assert _actions(served, "password-change-throttled")
    # The same guesses count for the login form from that address: one budget per account.
    assert served.browser("127.0.0.20").post("/login", {"username": "guessed", "password": "guessed-own-pass"},
                                             token_from="/login").status == 429


@pytest.mark.parametrize(("new", "repeat"), [("short-pass", None), ("x" * 129, None),
                                             ("long-enough-pass", "typed-otherwise"), ("keeper-own-pass", None)])
def test_a_new_password_too_short_too_long_mistyped_or_unchanged_is_refused(served, new, repeat):
    if "keeper" not in served.passwords:
        _account(served, "keeper", "keeper-own-pass")
    answer = _change(served.login("keeper"), "keeper-own-pass", new, repeat)
    assert answer.status == 400
    assert _logs_in(served, "keeper", "keeper-own-pass")


# --- a password set by an admin -------------------------------------------------------------


def _added_on_the_users_page(served, name: str) -> str:
    page = served.login("admin").post("/admin/users", {"username": name, "role": "viewer", "scope": "all"},
                                      token_from="/admin/users")
    assert page.status == 200
    return re.search(r'<code id="new-password">([^<]+)</code>', page.text)[1]


def test_a_generated_password_must_be_changed_before_any_page_opens(served):
    password = _added_on_the_users_page(served, "newcomer")
    browser = served.browser()
    answer = browser.post("/login", {"username": "newcomer", "password": password}, token_from="/login")
    assert answer.status == 302 and answer.headers["Location"] == "/account/password"
    for path in ("/", f"/calls/{served.own_call}", f"/calls/{served.own_call}/audio", "/search?q=invoice",
                 "/account", "/calls/export.csv"):
        answer = browser.get(path)
        assert answer.status == 302 and answer.headers["Location"] == "/account/password", path
    assert browser.get("/api/calls").status == 403  # a session on the API too (JSON)
    assert browser.get("/events?since=0").status == 403
    page = browser.get("/account/password")
    assert page.status == 200 and "Your password was set by an administrator" in page.text
    answer = _change(browser, password, "newcomers-own-pass")
    assert answer.status == 302 and answer.headers["Location"] == "/"
    assert browser.get("/").status == 200
    with served.store() as store:
        assert not store.users.by_name("newcomer").password_temporary


def test_a_reset_password_is_temporary_too_and_an_api_token_is_not_held_up(served):
    from appliance.web.auth import hash_token, new_api_token

    user = _account(served, "reset-me", "reset-me-own-pass")
    admin = served.login("admin")
    page = admin.post(f"/admin/users/{user.id}", {"action": "reset-password"}, token_from="/admin/users")
    password = re.search(r'<code id="new-password">([^<]+)</code>', page.text)[1]
    assert page.status == 200  # shown on this answer, not carried in a flash through the session cookie
    browser = served.browser()
    browser.post("/login", {"username": "reset-me", "password": password}, token_from="/login")
    assert browser.get("/").headers["Location"] == "/account/password"
    token = new_api_token()
    with served.store() as store:
        store.users.add_api_token(user.id, "script", hash_token(token))
    assert _bearer(served, token) == 200


def test_the_command_line_marks_generated_passwords_and_keeps_chosen_ones(served):
    printed = served.cli("users", "add", "cli-made").stdout
    with served.store() as store:
        assert store.users.by_name("cli-made").password_temporary
    assert "password: " in printed
    chosen = "cli-chosen-password"
    done = subprocess_input(served, ["users", "add", "cli-chose", "--password"], f"{chosen}\n{chosen}\n")
    assert done.returncode == 0 and chosen not in done.stdout
    with served.store() as store:
        assert not store.users.by_name("cli-chose").password_temporary
    assert _logs_in(served, "cli-chose", chosen)
    served.cli("users", "passwd", "cli-chose")
    with served.store() as store:
        assert store.users.by_name("cli-chose").password_temporary
    short = subprocess_input(served, ["users", "passwd", "cli-chose", "--password"], "short\nshort\n")
    assert short.returncode == 2 and "12 to 128 characters" in short.stderr


def subprocess_input(served, args: list[str], text: str):
    import subprocess

    from support.processes import APPLIANCE

    return subprocess.run([str(APPLIANCE), *args], env=served.env, input=text, capture_output=True, text=True,
                          timeout=120)


# --- deleting users ---------------------------------------------------------------------------


def test_a_deleted_user_is_logged_out_their_tokens_end_and_their_entries_stay(served):
    user = _account(served, "leaver", "leaver-own-pass")
    browser = served.login("leaver")
    token = _token(browser)
    browser.get(f"/calls/{served.own_call}/export/txt")  # leaves an entry under their name
    admin = served.login("admin")
    confirm = admin.get(f"/admin/users/{user.id}/delete")
    assert confirm.status == 200 and "leaver" in confirm.text
    answer = admin.post(f"/admin/users/{user.id}/delete", {}, token_from=f"/admin/users/{user.id}/delete")
    assert answer.status == 302
    assert "leaver was deleted" in admin.get("/admin/users").text
    assert browser.get("/").status == 302
    assert _bearer(served, token) == 401
    assert not _logs_in(served, "leaver", "leaver-own-pass")
    log = admin.get("/admin/audit?user=leaver")
    assert log.status == 200 and "export" in log.text and "leaver" in log.text
    assert [e.target for e in _actions(served, "user-delete")][:1] == ["user leaver"]


def test_nobody_deletes_themselves_the_last_admin_or_anyone_without_being_admin(served):
    with served.store() as store:
        admin_id, vic_id = store.users.by_name("admin").id, store.users.by_name("vic").id
    admin = served.login("admin")
    answer = admin.post(f"/admin/users/{admin_id}/delete", {}, token_from="/admin/users")
    assert answer.status == 302 and "You cannot delete your own account." in admin.get("/admin/users").text
    vic = served.login("vic")
    assert vic.post(f"/admin/users/{admin_id}/delete", {}, token_from="/").status == 403
    assert vic.get(f"/admin/users/{admin_id}/delete").status == 403
    assert admin.request("POST", f"/admin/users/{vic_id}/delete", {}).status == 400  # no CSRF token
    assert admin.post("/admin/users/99999/delete", {}, token_from="/admin/users").status == 404
    # With a second admin disabled, the one who can still log in is the last: kept.
    second = _account(served, "second-admin", "second-admin-pass", role="admin")
    assert admin.post(f"/admin/users/{second.id}", {"action": "disable"}, token_from="/admin/users").status == 302
    for form in ({"action": "disable"}, {"action": "access", "role": "viewer", "scope": "all"}):
        assert admin.post(f"/admin/users/{admin_id}", form, token_from="/admin/users").status == 302
        assert "The last administrator cannot be demoted, disabled or deleted." in admin.get("/admin/users").text
    with served.store() as store:
        kept = store.users.get(admin_id)
        assert kept.role == "admin" and not kept.disabled and store.users.get(vic_id)


def test_the_users_page_shows_each_users_last_login(served):
    _account(served, "regular", "regular-own-pass")
    admin = served.login("admin")

    def last_login() -> str:
        row = re.search(r'<tr data-user="regular">(.*?)</tr>', admin.get("/admin/users").text, re.S)[1]
        return re.search(r'<td class="last-login">([^<]*)</td>', row)[1]

    assert last_login() == "never"
    served.login("regular")
    assert last_login() not in ("never", "")
