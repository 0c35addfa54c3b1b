"""The voice menu's log: stored during the call, shown on the call page, gone with the call."""

import time

from support.store import finished_call

from appliance.store.menu import MenuInteraction
from appliance.transcript.model import CallMeta


def tried(store, uniqueid, attempt, via, heard, choice, destination=None, linkedid=None, confidence=None):
    store.menu.log(MenuInteraction(
        uniqueid=uniqueid, linkedid=linkedid, menu="main", attempt=attempt, via=via, heard=heard, choice=choice,
        destination=destination, confidence=confidence, engine="faster-whisper" if via == "speech" else None,
        answer_seconds=3.2, decision_ms=212.0, at=time.time()))


def test_the_call_page_shows_what_the_caller_said_in_the_menu_and_where_it_led(admin_client, store, tmp_path):
    # The menu logs its tries while the call is in progress, before the call's row exists.
    tried(store, "chan-1", 1, "speech", "Weasels have eaten our phone system.", None, confidence=0.25)
    tried(store, "chan-1", 2, "speech", "I want to talk to support", "support", "202@from-phones", confidence=1.0)
    tried(store, "chan-other", 1, "dtmf", "3", "billing", "203@from-phones", confidence=1.0)
    call = finished_call(store, tmp_path, CallMeta(uniqueid="chan-1", caller="+4930111", callee="202"),
                         [(1, "support, how can I help")])

    page = admin_client.get(f"/calls/{call.call_id}").get_data(as_text=True)

    assert "Voice menu" in page
    assert "Weasels have eaten our phone system." in page and "asked again" in page
    assert "I want to talk to support" in page and "202@from-phones" in page and "confidence 100 %" in page
    assert "203@from-phones" not in page  # another caller's try


def test_tries_on_another_leg_of_the_call_join_it_by_linkedid(store, tmp_path):
    tried(store, "menu-leg", 1, "silence", None, None, linkedid="link-9")
    tried(store, "menu-leg", 2, "silence", None, "operator", "100@from-phones", linkedid="link-9")
    call = finished_call(store, tmp_path, CallMeta(uniqueid="recorded-leg", linkedid="link-9"), [(0, "hello")])

    assert [(t.attempt, t.choice) for t in store.menu.of_call(call.call_id)] == [(1, None), (2, "operator")]


def test_deleting_a_call_deletes_its_menu_tries(store, tmp_path):
    tried(store, "chan-2", 1, "speech", "sales", "sales", "201@from-phones", confidence=1.0)
    call = finished_call(store, tmp_path, CallMeta(uniqueid="chan-2"), [(0, "hello")])

    store.calls.delete(call.call_id)

    assert store.menu.of_channel("chan-2") == []


def test_a_german_user_reads_the_menu_log_in_german(admin_client, admin_user, store, tmp_path):
    tried(store, "chan-3", 1, "silence", None, None)
    tried(store, "chan-3", 2, "dtmf", "2", "support", "202@from-phones", confidence=1.0)
    call = finished_call(store, tmp_path, CallMeta(uniqueid="chan-3"), [(0, "hallo")])
    store.users.set_locale(admin_user.id, "de")

    page = admin_client.get(f"/calls/{call.call_id}").get_data(as_text=True)

    assert "Sprachmenü" in page and "sagte nichts" in page and "drückte 2" in page and "Versuch 2" in page
