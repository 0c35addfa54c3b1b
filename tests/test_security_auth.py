"""Authentication attacks against a real `appliance serve`: redirects after login, guessing
passwords (throttle, its race, lockout abuse, timing) and API tokens used beyond the API."""

from __future__ import annotations

import urllib.parse

import pytest

from served import served  # noqa: F401 (the fixture)

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
