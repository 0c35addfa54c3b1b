"""Availability attacks against a real `appliance serve`: searches that cost the server more than
it can give one request, and connections that would tie up the request threads."""

from __future__ import annotations

import json
import urllib.parse

import pytest

from served import served  # noqa: F401 (the fixture)


HEALTH = (200, 503)  # /healthz answered (503: no Asterisk or worker in this test)


def _search(path: str, query: str) -> str:
    return f"{path}?{urllib.parse.urlencode({'q': query})}"


@pytest.mark.parametrize("query", ["a* " * 10000, "the " * 10000, "x " * 251,
                                   " ".join(f"w{n}" for n in range(33)), "a*", '"i"*'])
def test_a_search_beyond_the_limits_is_a_readable_400_on_the_page_and_the_api(served, query):
    vic = served.login("vic")
    page = vic.get(_search("/search", query))
    assert page.status == 400
    assert "at most 500 characters and 32 words" in page.text
    api = vic.get(_search("/api/search", query))
    assert api.status == 400
    assert api.headers["Content-Type"].startswith("application/json")
    assert "error" in json.loads(api.body)
    assert vic.get("/healthz").status in HEALTH  # the request threads are free again


def test_the_limit_message_is_german_for_a_german_user(served):
    with served.store() as store:
        store.set_locale(store.user_by_name("vic").id, "de")
    try:
        page = served.login("vic").get(_search("/search", "the " * 200))
    finally:
        with served.store() as store:
            store.set_locale(store.user_by_name("vic").id, "en")
    assert page.status == 400
    assert "höchstens 500 Zeichen und 32 Wörter" in page.text


def test_a_search_within_the_limits_still_finds_the_call(served):
    vic = served.login("vic")
    # The repeated word counts once; a two-letter prefix is allowed.
    page = vic.get(_search("/search", "invoice " * 40 + "ov*"))
    assert page.status == 200
    assert f"/calls/{served.other_call}" in page.text


def test_the_command_line_refuses_a_search_beyond_the_limits_in_one_line(served):
    done = served.cli("search", "the " * 10000, check=False)
    assert done.returncode != 0
    assert "too long" in done.stderr and "Traceback" not in done.stderr
