"""Authentication attacks against a real `appliance serve`: redirects after login, guessing
passwords (throttle, its race, lockout abuse, timing) and API tokens used beyond the API."""

from __future__ import annotations

import urllib.parse

import pytest

from support.web import login

# Targets that browsers or servers have been known to read as another site.
FOREIGN_NEXT = [
    "//evil.example", "/\t/evil.example", "/%09/evil.example", "/\n/evil.example", "/\r\n/evil.example",
    "/\\evil.example", "\\\\evil.example", "/\\/evil.example", "/%5Cevil.example", "/%2F%2Fevil.example",
    "/%252F%252Fevil.example", "https:evil.example", "https://evil.example", "http:/evil.example",
    "javascript:alert(1)", "evil.example", " //evil.example", "/ /evil.example", "\x00//evil.example",
    "/\u3000/evil.example", "/\uff0f/evil.example", "\uff0f\uff0fevil.example", "/\u2044/evil.example",
    "/\r\nSet-Cookie: x=1", "//evil.example/%2F..", "/%0d%0aLocation:%20//evil.example",
]


def _login_to(served, target: str):
    browser = served.browser()
    browser.take_token("/login")
    path = "/login?" + urllib.parse.urlencode({"next": target})
    return browser.request("POST", path, {"username": "vic", "password": served.passwords["vic"],
                                          "csrf_token": browser.csrf})


@pytest.mark.parametrize("target", FOREIGN_NEXT)
def test_after_login_a_foreign_next_goes_to_the_call_list(served, target):
    answer = _login_to(served, target)
    assert answer.status == 302
    assert answer.headers["Location"] == "/"


@pytest.mark.parametrize("target", ["/calls/1", "/search?q=invoice+overdue", "/calls?page=2&state=done"])
def test_after_login_a_local_next_is_kept(served, target):
    answer = _login_to(served, target)
    assert answer.status == 302
    assert answer.headers["Location"] == target


# --- guessing passwords ----------------------------------------------------------------------


def _account(served, name: str, password: str) -> None:
    from appliance.web.auth import hash_password

    with served.store() as store:
        store.users.add(name, hash_password(password), "viewer")


def _try(served, source: str, username: str, password: str) -> int:
    browser = served.browser(source)
    browser.take_token("/login")
    return browser.request("POST", "/login", {"username": username, "password": password,
                                              "csrf_token": browser.csrf}).status


def test_guesses_from_one_address_do_not_lock_the_owner_out_whatever_the_spelling(served):
    _account(served, "straße", "owner-pass-1")
    # Five guesses at one account, spelt five ways that are all the same name.
    for spelling in ("straße", "STRASSE", "ſtrasse", "Strasse", "ＳＴＲＡＳＳＥ"):
        assert _try(served, "127.0.0.2", spelling, "guess") == 401
    assert _try(served, "127.0.0.2", "strasse", "guess") == 429
    assert _try(served, "127.0.0.2", "straße", "owner-pass-1") == 429  # not even right from there
    # The owner at their own address logs in all the same.
    assert _try(served, "127.0.0.3", "STRASSE", "owner-pass-1") == 302


def test_logging_in_to_ones_own_account_does_not_reset_the_guesses_at_others(served):
    # One address sprays guesses over many names (a few each), then logs into its own account.
    names = [f"spray{n}" for n in range(19)]
    for name in names:
        assert _try(served, "127.0.0.4", name, "guess") == 401
    assert _try(served, "127.0.0.4", "agent", served.passwords["agent"]) == 302
    assert _try(served, "127.0.0.4", "spray19", "guess") == 401  # the 20th guess from there
    assert _try(served, "127.0.0.4", "spray20", "guess") == 429
    assert _try(served, "127.0.0.5", "spray20", "guess") == 401  # another address is not held


def test_forty_parallel_guesses_get_five_password_checks(served):
    from concurrent.futures import ThreadPoolExecutor

    _account(served, "racer", "racer-pass-1")
    browsers = [served.browser("127.0.0.6") for _ in range(40)]
    for browser in browsers:
        browser.take_token("/login")

    def guess(browser):
        return browser.request("POST", "/login", {"username": "racer", "password": "guess",
                                                  "csrf_token": browser.csrf}).status

    with ThreadPoolExecutor(40) as pool:
        answers = list(pool.map(guess, browsers))
    assert sorted(answers) == [401] * 5 + [429] * 35
    with served.store() as store:
        entries = store.audit.entries(limit=1000)
    assert sum(e.action == "login-failed" and e.actor == "racer" for e in entries) == 5


def test_an_unknown_or_disabled_name_costs_the_same_password_check(client, admin_user, viewer_user, store,
                                                                     monkeypatch):
    from appliance.web import auth

    checked = []
    real = auth.check_password_hash
    monkeypatch.setattr(auth, "check_password_hash", lambda stored, given: checked.append(stored) or real(stored, given))
    store.users.set_disabled(viewer_user.id, True)
    for name in ("nobody", "vic", "ada"):
        assert login(client, name, "guess").status_code == 401
    method = admin_user.password_hash.rsplit("$", 2)[0]  # e.g. scrypt:32768:8:1
    assert [stored.rsplit("$", 2)[0] for stored in checked] == [method] * 3
    assert checked[0] != admin_user.password_hash


@pytest.mark.parametrize(("failures", "seconds"), [(0, 0.0), (4, 0.0), (5, 0.1), (6, 0.2), (8, 0.8), (50, 2.0)])
def test_the_owners_delay_grows_with_every_addresses_failures_and_is_capped(failures, seconds):
    from appliance.web.auth import slowdown

    assert slowdown(failures, 5) == pytest.approx(seconds)


# --- API tokens ------------------------------------------------------------------------------


def _new_token(browser, days: str = "90") -> str:
    import re

    page = browser.post("/account", {"action": "token", "name": "crm", "days": days}, token_from="/account")
    assert page.status == 200
    return re.search(r'<code id="new-token">([^<]+)</code>', page.text)[1]


def _bearer(served, token: str, path: str, method: str = "GET"):
    return served.browser().request(method, path, headers={"Authorization": f"Bearer {token}"})


def test_an_admins_token_reads_the_api_and_nothing_else(served):
    token = _new_token(served.login("admin"))
    assert _bearer(served, token, "/api/calls").status == 200
    assert _bearer(served, token, f"/api/calls/{served.other_call}").status == 200
    for path in ("/admin/users", "/admin/audit", "/admin/erasure", f"/calls/{served.own_call}/audio",
                 f"/calls/{served.own_call}", f"/calls/{served.own_call}/export/txt", "/account", "/"):
        answer = _bearer(served, token, path)
        assert answer.status == 302 and answer.headers["Location"].startswith("/login"), path
    for method in ("POST", "PUT", "DELETE"):
        assert _bearer(served, token, "/api/calls", method).status == 401
    with served.store() as store:
        before = store.users.all()
    sent = served.browser().request("POST", "/admin/users", {"username": "intruder"},
                                    headers={"Authorization": f"Bearer {token}"})
    assert sent.status in (302, 400)  # no login (or no CSRF token): never a change
    with served.store() as store:
        assert store.users.all() == before


def test_a_token_shows_its_last_use_and_expiry_on_the_account_page(served):
    vic = served.login("vic")
    token = _new_token(vic, days="30")
    page = vic.get("/account").text
    assert "never used" in page and "expires" in page
    assert _bearer(served, token, "/api/calls").status == 200
    assert "never used" not in vic.get("/account").text
    with served.store() as store:
        saved = store.users.api_tokens(store.users.by_name("vic").id)[-1]
    assert saved.scope == "read" and saved.last_used_at is not None
    assert saved.expires_at - saved.created_at == pytest.approx(30 * 86400)
    assert vic.post("/account", {"action": "token", "name": "x", "days": "100000"}, token_from="/account").status == 400


def test_an_expired_token_is_refused(served):
    from appliance.web.auth import hash_token, new_api_token

    token = new_api_token()
    with served.store() as store:
        saved = store.users.add_api_token(store.users.by_name("vic").id, "old", hash_token(token), days=1)
        store._db.execute("UPDATE api_tokens SET expires_at = ? WHERE id = ?", [saved.created_at - 1, saved.id])
    assert _bearer(served, token, "/api/calls").status == 401


@pytest.mark.parametrize("action", ["reset-password", "disable"])
def test_a_password_reset_or_disabling_revokes_the_tokens_and_sessions(served, action):
    from appliance.web.auth import hash_password

    name = f"owner-{action}"
    with served.store() as store:
        owner = store.users.add(name, hash_password("owner-pass-1"), "viewer")
    served.passwords[name] = "owner-pass-1"
    browser = served.login(name)
    token = _new_token(browser)
    assert _bearer(served, token, "/api/calls").status == 200
    admin = served.login("admin")
    shown = 200 if action == "reset-password" else 302  # a reset answers with the new password itself
    assert admin.post(f"/admin/users/{owner.id}", {"action": action}, token_from="/admin/users").status == shown
    if action == "disable":
        assert admin.post(f"/admin/users/{owner.id}", {"action": "enable"}).status == 302
    assert _bearer(served, token, "/api/calls").status == 401
    assert browser.get("/").status == 302  # the session ended too


# --- sessions --------------------------------------------------------------------------------


def test_a_session_cookie_planted_before_login_is_not_logged_in_after_it(served):
    victim = served.browser()
    victim.take_token("/login")
    planted = dict(victim.cookies)
    answer = victim.request("POST", "/login", {"username": "vic", "password": served.passwords["vic"],
                                               "csrf_token": victim.csrf})
    assert answer.status == 302
    assert victim.cookies["session"] != planted["session"]
    attacker = served.browser()
    attacker.cookies = planted
    assert attacker.get("/").status == 302


def test_logout_ends_the_session_on_the_server_for_every_copy_of_the_cookie(served):
    vic = served.login("vic")
    copy = served.browser()
    copy.cookies = dict(vic.cookies)
    assert copy.get("/").status == 200
    assert vic.post("/logout", {}, token_from="/").status == 302
    assert copy.get("/").status == 302


def test_the_session_cookie_is_httponly_and_samesite(served):
    browser = served.browser()
    browser.take_token("/login")
    answer = browser.request("POST", "/login", {"username": "vic", "password": served.passwords["vic"],
                                                "csrf_token": browser.csrf})
    session = [c for c in answer.headers.get_all("Set-Cookie") if c.startswith("session=")]
    assert session and "HttpOnly" in session[-1] and "SameSite=Lax" in session[-1]
