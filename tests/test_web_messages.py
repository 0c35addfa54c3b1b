"""Voicemail and voice notes have lists of their own: the mailbox and its owner, who left the
message with a call-back link, what was said, and new or heard for each user."""

import pytest

from appliance.transcript.model import CallMeta, Speaker
from support.web import ADMIN_PASSWORD, login, recorded_call, talk, write_wav


@pytest.fixture
def settings(make_settings):
    return make_settings(mailboxes={"201": {"name": "Sales desk"}}, phones={"202": "Reception"})


@pytest.fixture
def messages(store, tmp_path):
    voicemail = recorded_call(
        store, [write_wav(tmp_path / "vm.wav")],
        CallMeta(uniqueid="vm-1", caller="+49 30 555 12", callee="201", kind="voicemail"),
        talk([(0, "please call me back about the invoice")]), (Speaker(0, "Caller", "caller"),)).call_id
    note = recorded_call(
        store, [write_wav(tmp_path / "note.wav")], CallMeta(uniqueid="note-1", caller="202", callee="202", kind="note"),
        talk([(0, "remember to order paper")]), (Speaker(0, "Caller", "caller"),)).call_id
    return voicemail, note


def _row(page: str, call_id: int) -> str:
    return page.split(f'<tr data-call="{call_id}"')[1].split("</tr>")[0]


def test_the_voicemail_list_shows_mailbox_owner_call_back_and_text(viewer_client, messages):
    voicemail, note = messages
    page = viewer_client.get("/?kind=voicemail").get_data(as_text=True)
    row = _row(page, voicemail)
    assert "201" in row and '<small class="owner">Sales desk</small>' in row
    assert 'href="tel:+493055512"' in row and "Call back" in row
    assert "please call me back about the invoice" in row
    assert f'data-call="{note}"' not in page
    notes = viewer_client.get("/?kind=note").get_data(as_text=True)
    assert '<small class="owner">Reception</small>' in _row(notes, note) and "tel:" not in _row(notes, note)


def test_a_message_is_new_to_each_user_until_they_open_it(app, viewer_client, admin_user, messages):
    voicemail, _ = messages
    assert 'class="badge new"' in _row(viewer_client.get("/?kind=voicemail").get_data(as_text=True), voicemail)
    assert viewer_client.get(f"/calls/{voicemail}").status_code == 200
    assert 'class="heard"' in _row(viewer_client.get("/?kind=voicemail").get_data(as_text=True), voicemail)
    admin = app.test_client()
    login(admin, "ada", ADMIN_PASSWORD)
    assert 'class="badge new"' in _row(admin.get("/?kind=voicemail").get_data(as_text=True), voicemail)


def test_heard_marks_go_with_the_call(store, viewer_user, messages):
    voicemail, note = messages
    store.heard.mark(viewer_user.id, voicemail)
    store.heard.mark(viewer_user.id, voicemail)  # again: no error, still one mark
    assert store.heard.among(viewer_user.id, [voicemail, note]) == {voicemail}
    store.calls.delete(voicemail)
    assert store.heard.among(viewer_user.id, [voicemail]) == set()
