"""A transferred call is one conversation: its legs (the calls sharing Asterisk's linkedid) in
time order on one page, each party's words on its leg, each leg playable alone; a user sees the
legs of their scope only."""

from __future__ import annotations

import re

import pytest

from appliance.store.scopes import entry
from appliance.transcript.model import CallMeta
from support.web import hashed, login, recorded_call, talk, write_wav

LINKED = "1796199302.10"


@pytest.fixture
def transfer(store, tmp_path):
    """Reception (200) takes the call, then transfers it to 201; then 201 asks 202 (attended)."""
    legs = [
        ("1796199302.10", "+4930123456", "200", "2026-12-02T08:15:02+00:00",
         [(0, "good morning I have a question about my bill"), (1, "one moment I will put you through")]),
        ("1796199302.14", "+4930123456", "201", "2026-12-02T08:15:40+00:00",
         [(1, "accounts department how can I help"), (0, "my invoice shows the wrong amount")]),
        ("1796199302.20", "201", "202", "2026-12-02T08:16:30+00:00",
         [(0, "can you check invoice four two"), (1, "yes it was corrected yesterday")]),
    ]
    ids = []
    # Stored out of order: the page orders by when each leg began.
    for uniqueid, caller, callee, started, lines in reversed(legs):
        meta = CallMeta(uniqueid=uniqueid, caller=caller, callee=callee, started_at=started, linkedid=LINKED,
                        direction="inbound")
        ids.insert(0, recorded_call(store, [write_wav(tmp_path / f"{uniqueid}.wav", 4.0)], meta, talk(lines)).call_id)
    alone = recorded_call(store, [write_wav(tmp_path / "alone.wav", 2.0)],
                          CallMeta(uniqueid="9.9", caller="203", callee="204", linkedid="9.9"),
                          talk([(0, "nothing to do with it")])).call_id
    return ids, alone


def _text(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def test_the_legs_of_a_transfer_read_as_one_conversation_in_time_order(admin_client, transfer, store):
    (first, second, third), _ = transfer
    page = _text(admin_client.get(f"/calls/{second}/conversation"))
    assert "Conversation in 3 parts" in page
    said = re.findall(r'<span class="who">([^<]+)</span>\s*<p>([^<]+)</p>', page)
    texts = [text for _, text in said]
    assert texts == ["good morning I have a question about my bill", "one moment I will put you through",
                     "accounts department how can I help", "my invoice shows the wrong amount",
                     "can you check invoice four two", "yes it was corrected yesterday"]
    # Each line plays its own leg's recording from the turn's own moment.
    assert re.search(r'data-leg="2" data-seek="0\.0">0:38<', page)
    for call_id in (first, second, third):
        assert f"/calls/{call_id}/audio" in page
    assert store.audit.entries(limit=5, action="view")[0].target == f"conversation of call {second}"


def test_each_leg_links_to_the_whole_conversation_and_a_call_alone_does_not(admin_client, transfer):
    (first, second, third), alone = transfer
    page = _text(admin_client.get(f"/calls/{first}"))
    assert "Part of a conversation in 3 parts" in page and f"/calls/{first}/conversation" in page
    assert "Part of a conversation" not in _text(admin_client.get(f"/calls/{alone}"))
    assert admin_client.get(f"/calls/{alone}/conversation").status_code == 302


def test_a_scoped_user_sees_only_the_legs_of_their_scope(app, store, transfer, admin_user):
    (first, second, third), _ = transfer
    agent = store.users.add("acct", hashed("acct-pass-1234"), "agent")
    store.users.set_scope_entries(agent.id, [entry("extension", "201")])
    browser = app.test_client()
    assert login(browser, "acct", "acct-pass-1234").status_code == 302
    assert browser.get(f"/calls/{first}/conversation").status_code == 404
    page = _text(browser.get(f"/calls/{second}/conversation"))
    assert "Conversation in 2 parts" in page
    assert "good morning I have a question" not in page and "corrected yesterday" in page


def test_the_conversation_page_is_german_for_a_german_user(app, store, transfer):
    (first, _, _), _ = transfer
    store.users.add("greta", hashed("greta-pass-1234"), "admin", "de")
    browser = app.test_client()
    assert login(browser, "greta", "greta-pass-1234").status_code == 302
    assert "Gespräch in 3 Teilen" in _text(browser.get(f"/calls/{first}/conversation"))
    assert "Teil eines Gesprächs in 3 Teilen" in _text(browser.get(f"/calls/{first}"))
