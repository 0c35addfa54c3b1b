"""Retention: audio goes after N days and the text stays, everything goes after M days, per
direction, number and mailbox; legal hold wins over all of it; every deletion is audited."""

import time
from datetime import datetime, timedelta, timezone

import pytest

from appliance.errors import ConfigError, LegalHold, NotFound
from appliance.ops.retention import run_retention
from appliance.store.retention import RetentionPolicy
from appliance.transcript.model import CallMeta
from support.web import ADMIN_PASSWORD, audit_actions, login, make_app, post, recorded_call, talk, write_wav



def days_ago(days: float) -> str:
    return (datetime.now(timezone.utc) - timedelta(days=days)).isoformat(timespec="seconds")


@pytest.fixture
def calls_dir(tmp_path):
    folder = tmp_path / "data" / "recordings"
    folder.mkdir(parents=True)
    return folder


def a_call(store, calls_dir, name, *, days, caller="+44 20 7946 0958", callee="200", direction="inbound",
           kind="call", text="please send the invoice to the office"):
    path = write_wav(calls_dir / f"{name}.wav")
    meta = CallMeta(uniqueid=name, caller=caller, callee=callee, direction=direction,
                    started_at=days_ago(days), kind=kind)
    result = recorded_call(store, [path], meta, talk([(0, text)]))
    return result.call_id, path


def test_audio_goes_after_n_days_and_the_transcript_stays_searchable(store, make_settings, calls_dir, admin_client):
    settings = make_settings(retention={"all": {"audio_days": 30}})
    old, old_file = a_call(store, calls_dir, "old", days=45, text="the parcel for Mrs Habersack")
    young, young_file = a_call(store, calls_dir, "young", days=5)

    run = run_retention(store, settings)

    assert run.audio_removed == 1 and run.calls_deleted == 0
    assert not old_file.exists() and young_file.exists()
    assert "Habersack" in store.transcripts.get(old).text
    assert [hit.call_id for hit in store.search.hits("Habersack")] == [old]
    (entry,) = audit_actions(store, "retention-audio")
    assert entry.target == f"call {old}" and "all" in entry.detail and entry.actor is None
    # The call page says so, and the player gets "gone" instead of an error.
    page = admin_client.get(f"/calls/{old}").get_data(as_text=True)
    assert "data-audio-deleted" in page and "Habersack" in page
    assert admin_client.get(f"/calls/{old}/audio").status_code == 410
    # A second run finds nothing more to do and logs nothing more.
    assert run_retention(store, settings).audio_removed == 0
    assert len(audit_actions(store, "retention-audio")) == 1


def test_transcripts_go_after_m_days_with_the_recording_and_the_search_index(store, make_settings, calls_dir):
    settings = make_settings(retention={"all": {"audio_days": 30, "transcript_days": 365}})
    old, old_file = a_call(store, calls_dir, "old", days=400, text="the parcel for Mrs Habersack")
    kept, _ = a_call(store, calls_dir, "kept", days=100, text="Habersack called again")

    run = run_retention(store, settings)

    assert run.calls_deleted == 1 and run.audio_removed == 1  # the 100-day call lost its audio
    with pytest.raises(NotFound):
        store.calls.get(old)
    assert not old_file.exists()
    assert [hit.call_id for hit in store.search.hits("Habersack")] == [kept]
    (entry,) = audit_actions(store, "retention-delete")
    assert entry.target == f"call {old}" and "365 days" in entry.detail


def test_the_first_matching_policy_by_number_mailbox_or_direction_decides(store, make_settings, calls_dir):
    settings = make_settings(retention={
        "clients": {"number": "+4930*", "transcript_days": 3650},  # a law firm keeps these long
        "mailbox-100": {"mailbox": "100", "transcript_days": 30},
        "inbound": {"direction": "inbound", "transcript_days": 90},
    })
    client_call, _ = a_call(store, calls_dir, "client", days=100, caller="+4930111222")
    vm_100, _ = a_call(store, calls_dir, "vm100", days=40, kind="voicemail", callee="100", caller="+4989555")
    vm_101, _ = a_call(store, calls_dir, "vm101", days=40, kind="voicemail", callee="101", caller="+4989555")
    inbound, _ = a_call(store, calls_dir, "inbound", days=100, caller="+4989555")
    outbound, _ = a_call(store, calls_dir, "outbound", days=100, caller="200", callee="+4989555",
                         direction="outbound")

    run_retention(store, settings)

    remaining = {call.id for call in store.calls.page()}
    assert remaining == {client_call, vm_101, outbound}
    assert {e.target for e in audit_actions(store, "retention-delete")} == {f"call {vm_100}", f"call {inbound}"}


def test_a_call_under_legal_hold_is_never_deleted_by_anything(store, make_settings, calls_dir, admin_client):
    settings = make_settings(retention={"all": {"audio_days": 1, "transcript_days": 2}})
    held, held_file = a_call(store, calls_dir, "held", days=500)
    other, _ = a_call(store, calls_dir, "other", days=500)
    assert post(admin_client, f"/calls/{held}/hold", {"hold": "1"}, token_from=f"/calls/{held}").status_code == 302

    run_retention(store, settings)

    assert held_file.exists() and store.transcripts.get(held) is not None
    assert {call.id for call in store.calls.page()} == {held}
    with pytest.raises(LegalHold):
        store.calls.delete(held)
    page = post(admin_client, f"/calls/{held}/delete", token_from=f"/calls/{held}/delete")
    assert page.status_code == 302 and store.calls.get(held)
    assert "legal hold" in admin_client.get(f"/calls/{held}").get_data(as_text=True)
    assert [e.target for e in audit_actions(store, "hold")] == [f"call {held}"]
    assert [e.target for e in audit_actions(store, "retention-delete")] == [f"call {other}"]

    # Lifted, the next run applies the policy.
    post(admin_client, f"/calls/{held}/hold", {"hold": "0"}, token_from=f"/calls/{held}")
    run_retention(store, settings)
    assert store.calls.page() == [] and not held_file.exists()


def test_policies_made_in_the_admin_ui_apply_after_the_settings_files(store, make_settings, calls_dir, admin_user):
    settings = make_settings(retention={"vip": {"number": "+4930*"}})  # kept for ever
    admin_client = make_app(settings).test_client()
    login(admin_client, "ada", ADMIN_PASSWORD)
    vip, _ = a_call(store, calls_dir, "vip", days=20, caller="+4930777")
    other, other_file = a_call(store, calls_dir, "other", days=20)
    page = admin_client.get("/admin/retention").get_data(as_text=True)
    assert 'data-policy="vip"' in page

    response = post(admin_client, "/admin/retention", {"name": "short", "audio_days": "7", "transcript_days": ""},
                    token_from="/admin/retention")

    assert response.status_code == 302
    (policy,) = store.retention.policies()
    assert (policy.name, policy.audio_days, policy.transcript_days) == ("short", 7, None)
    run_retention(store, settings)
    assert not other_file.exists() and store.transcripts.get(other) is not None
    assert not store.retention.audio_deleted(vip)
    assert audit_actions(store, "retention-policy-add")[0].actor == "ada"


def test_retention_runs_on_its_own_beside_the_worker(store, make_settings, calls_dir):
    from appliance.jobs.scheduler import start_scheduler
    from appliance.ops.schedule import add_ops_jobs

    settings = make_settings(retention={"all": {"transcript_days": 10}}, retention_interval_seconds=0.2)
    old, _ = a_call(store, calls_dir, "old", days=30)
    scheduler = start_scheduler(settings, more=[add_ops_jobs])
    try:
        deadline = time.monotonic() + 60
        while store.calls.page() and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        scheduler.shutdown(wait=True)
    assert store.calls.page() == []
    # The audit entry, not the last run's counts: a later run (every 0.2 s) finds nothing left.
    assert [e.target for e in audit_actions(store, "retention-delete")] == [f"call {old}"]


@pytest.mark.parametrize("table, message", [
    ({"days": 3}, "unknown key"),
    ({"audio_days": "soon"}, "whole number of days"),
    ({"direction": "sideways"}, "direction must be one of"),
])
def test_a_wrong_policy_in_the_settings_file_is_a_readable_error(store, make_settings, table, message):
    with pytest.raises(ConfigError, match=message):
        run_retention(store, make_settings(retention={"p": table}))


def test_unknown_policies_and_calls_are_not_found(store):
    with pytest.raises(NotFound):
        store.retention.delete_policy(99)
    with pytest.raises(NotFound):
        store.retention.set_legal_hold(99, True)
    assert store.retention.add_policy(RetentionPolicy("x", audio_days=1)) == 1


def test_a_wrong_policy_in_the_settings_file_shows_on_the_retention_page(make_settings, store, admin_user):
    client = make_app(make_settings(retention={"p": {"audio_days": -3}})).test_client()
    login(client, "ada", ADMIN_PASSWORD)
    page = client.get("/admin/retention")
    assert page.status_code == 200 and "whole number of days" in page.get_data(as_text=True)
