"""Transcript edits against a real `appliance serve` (tests/support/served.py): who may edit which call,
what bad edits get back, and what an edit changes for everyone else (page, search, export,
keywords and summary, audit log).

ASVS V4.1.1/V4.2.1: edits need the edit permission and a call in the user's scope, enforced by
the store (store.calls.check_edit) behind the view.
"""

from __future__ import annotations

import json

import pytest

from support.web import hashed

READER_PASSWORD = "reader-pass-edits-1"


@pytest.fixture(scope="module")
def reader(served):
    """A viewer of every call without the edit permission."""
    from appliance.store.scopes import entry

    with served.store() as store:
        user = store.users.add("reader", hashed(READER_PASSWORD), "viewer")
        store.users.set_scope_entries(user.id, [entry("all")])
    return served.login("reader", READER_PASSWORD)


def edit(browser, call_id: int, json_answer: bool = True, **fields):
    headers = {"Accept": "application/json"} if json_answer else {}
    return browser.post(f"/calls/{call_id}/transcript/edit", {k: str(v) for k, v in fields.items()},
                        token_from=f"/calls/{call_id}", headers=headers)


def turns(served, call_id):
    with served.store() as store:
        return [turn.text for turn in store.transcripts.get(call_id).turns]


def test_a_viewer_without_the_edit_permission_gets_403_and_no_editor(served, reader):
    before = turns(served, served.own_call)
    answer = edit(reader, served.own_call, action="word", turn=0, word=0, text="hacked")
    assert answer.status == 403
    assert turns(served, served.own_call) == before
    page = reader.get(f"/calls/{served.own_call}").text
    assert "data-edit-url" not in page and 'id="edit-word"' not in page


def test_a_scoped_user_cannot_edit_a_call_outside_the_scope(served):
    agent = served.login("agent")
    before = turns(served, served.other_call)
    answer = agent.post(f"/calls/{served.other_call}/transcript/edit",
                        {"action": "word", "turn": "0", "word": "0", "text": "hacked"}, token_from="/")
    assert answer.status == 404  # out of scope reads as missing
    assert turns(served, served.other_call) == before


@pytest.mark.parametrize("fields", [
    {"action": "word", "turn": "x", "word": "0", "text": "a"},
    {"action": "word", "turn": "99999999999", "word": "0", "text": "a"},
    {"action": "word", "turn": "0"},
    {"action": "word", "turn": "0", "word": "0", "text": " "},
    {"action": "word", "turn": "0", "word": "0", "text": "x" * 500},
    {"action": "split", "turn": "0", "word": "0"},
    {"action": "merge", "turn": "1"},
    {"action": "speaker", "turn": "0", "speaker": "7"},
    {"action": "drop table", "turn": "0"},
    {"action": "word", "turn": "٣", "word": "0", "text": "a"},
])
def test_bad_edits_get_a_readable_4xx_and_change_nothing(served, fields):
    vic = served.login("vic")
    before = turns(served, served.other_call)
    answer = vic.post(f"/calls/{served.other_call}/transcript/edit", fields, token_from=f"/calls/{served.other_call}",
                      headers={"Accept": "application/json"})
    assert answer.status == 400, answer.text[:300]
    assert turns(served, served.other_call) == before
    if answer.headers["Content-Type"].startswith("application/json"):
        assert json.loads(answer.body)["error"]


def test_an_edit_without_the_csrf_token_is_refused(served):
    vic = served.login("vic")
    answer = vic.request("POST", f"/calls/{served.other_call}/transcript/edit", {"action": "merge", "turn": "0"})
    assert answer.status == 400
    assert turns(served, served.other_call) == ["the invoice is overdue", "we will pay tomorrow"]


def test_an_edit_reaches_the_page_search_export_insights_and_the_audit_log(served):
    vic = served.login("vic")
    call = served.own_call
    with served.store() as store:
        had_insights = json.dumps(store.insights.of_calls([call]).get(call, {}))
    answer = edit(vic, call, action="word", turn=1, word=4, text="audit")
    assert answer.status == 200, answer.text
    assert json.loads(answer.body)["text"] == "I would like an audit"

    page = vic.get(f"/calls/{call}").text
    assert ">audit</span>" in page and 'id="revisions"' in page  # the word, and the revision listed
    assert "<del>appointment</del> → <ins>audit</ins>" in page
    assert "I would like an appointment" in page  # the original, kept

    hits = vic.get("/search?q=audit").text
    assert f"/calls/{call}#t=" in hits
    assert f"/calls/{call}#t=" not in vic.get("/search?q=appointment").text
    assert "I would like an audit" in vic.get(f"/calls/{call}/export/txt").text

    with served.store() as store:
        insights = json.dumps(store.insights.of_calls([call])[call])
        entry = store.audit.entries(action="edit-transcript", limit=1)[0]
    assert "appointment" not in insights and ("audit" in insights or "appointment" not in had_insights)
    assert (entry.actor, entry.target, entry.detail) == ("vic", f"call {call}", "word in turn 2")


def test_split_merge_and_reassign_from_a_plain_form_redirect_to_the_turn(served):
    admin = served.login("admin")
    call = served.other_call
    answer = edit(admin, call, json_answer=False, action="split", turn=0, word=2)
    assert answer.status == 303 and answer.headers["Location"].endswith(f"/calls/{call}#t=0.00")
    assert turns(served, call) == ["the invoice", "is overdue", "we will pay tomorrow"]
    assert edit(admin, call, action="speaker", turn=1, speaker=1).status == 200
    assert edit(admin, call, action="merge", turn=1).status == 200
    assert turns(served, call) == ["the invoice", "is overdue we will pay tomorrow"]
    with served.store() as store:
        assert [t.speaker for t in store.transcripts.get(call).turns] == [0, 1]
        assert [r.action for r in store.edits.revisions(call)] == ["merge", "speaker", "split"]
