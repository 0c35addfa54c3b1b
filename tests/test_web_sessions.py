"""Logging out or getting a new password ends sessions for good, also copied session cookies."""

from support.web import ADMIN_PASSWORD, hashed, login, post


def _stolen_copy(app, client):
    """A second browser holding a copy of `client`'s session cookie."""
    thief = app.test_client()
    cookie = client.get_cookie("session")
    thief.set_cookie("session", cookie.value)
    return thief


def test_a_copied_session_cookie_stops_working_after_logout(app, admin_user):
    browser = app.test_client()
    login(browser, "ada", ADMIN_PASSWORD)
    thief = _stolen_copy(app, browser)
    assert thief.get("/").status_code == 200

    post(browser, "/logout")

    assert thief.get("/").status_code == 302
    assert "/login" in thief.get("/").headers["Location"]


def test_a_new_password_ends_the_sessions_opened_with_the_old_one(app, admin_user, store):
    browser = app.test_client()
    login(browser, "ada", ADMIN_PASSWORD)
    assert browser.get("/").status_code == 200

    store.users.set_password(admin_user.id, hashed("a completely new password"))

    assert browser.get("/").status_code == 302
    assert login(browser, "ada", "a completely new password").status_code == 302
    assert browser.get("/").status_code == 200
