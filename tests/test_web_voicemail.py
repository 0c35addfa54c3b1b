"""Voicemails and voice notes have their own lists; admins can run the self-test from the UI."""

from support.store import finished_call
from support.web import post

from appliance.transcript.model import CallMeta


def test_voicemail_and_notes_lists_show_only_their_kind(admin_client, store, tmp_path):
    finished_call(store, tmp_path, CallMeta(uniqueid="c1", caller="+4930111", callee="200"), [(0, "a call")])
    finished_call(store, tmp_path, CallMeta(uniqueid="vm-1", caller="+4930222", callee="100", kind="voicemail"),
                  [(0, "please call me back")])
    finished_call(store, tmp_path, CallMeta(uniqueid="note-1", caller="101", kind="note"), [(0, "buy milk")])

    voicemail = admin_client.get("/?kind=voicemail").get_data(as_text=True)
    notes = admin_client.get("/?kind=note").get_data(as_text=True)

    assert "+4930222" in voicemail and "+4930111" not in voicemail and "Voicemail" in voicemail
    assert ">101<" in notes and "+4930222" not in notes and "Voice notes" in notes


def test_selftest_page_is_for_admins_and_reports_a_missing_asterisk_as_a_failed_stage(
        admin_client, viewer_client, settings):
    assert viewer_client.get("/admin/selftest").status_code == 403
    # Nothing listens on the ARI port here: the first stage must say so, not crash.
    response = post(admin_client, "/admin/selftest", token_from="/admin/selftest")
    assert response.status_code == 302
    import time

    deadline = time.monotonic() + 30
    page = ""
    while time.monotonic() < deadline and "Asterisk ARI is not reachable" not in page:
        time.sleep(0.2)
        page = admin_client.get("/admin/selftest").get_data(as_text=True)
    assert "asterisk reachable" in page and "Asterisk ARI is not reachable" in page
