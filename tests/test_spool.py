"""The spool sweep picks up finished recordings once, with their ticket, and leaves the rest."""

import json
import os
import time

import pytest

from appliance.jobs.spool import PAIR_PATIENCE, sweep


@pytest.fixture
def spool(settings):
    settings.spool_dir.mkdir(parents=True)
    return settings.spool_dir


def _file(path, age_seconds=60.0, data=b"\0\1" * 800):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    stamp = time.time() - age_seconds
    os.utime(path, (stamp, stamp))
    return path


def test_finished_recording_with_ticket_becomes_one_job_with_its_call_metadata(spool, settings, store):
    _file(spool / "1700000002.3.raw")
    (spool / "1700000002.3.json").write_text(json.dumps(
        {"uniqueid": "1700000002.3", "caller": "+4930111", "callee": "202", "direction": "inbound",
         "started_at": "2026-11-28T10:00:00+00:00", "options": {"channels": 2}}))

    first = sweep(store, settings)
    second = sweep(store, settings)

    assert len(first) == 1 and first[0].created and second == []
    job = store.jobs.get(first[0].job_id)
    assert (job.meta.uniqueid, job.meta.caller, job.meta.callee) == ("1700000002.3", "+4930111", "202")
    assert job.options == {"channels": 2}


def test_file_still_being_written_waits_for_the_settle_time(spool, settings, store):
    path = _file(spool / "busy.wav", age_seconds=0)
    assert sweep(store, settings) == []
    later = sweep(store, settings, now=time.time() + settings.spool_settle_seconds + 1)
    assert [r.created for r in later] == [True]
    assert store.jobs.get(later[0].job_id).paths == (str(path.resolve()),)


def test_temporary_hidden_and_non_audio_files_are_ignored(spool, settings, store):
    _file(spool / ".1700.raw.part")
    _file(spool / ".tmp" / "x.wav")
    _file(spool / "notes.txt")
    _file(spool / "ticket-only.json", data=b"{}")
    assert sweep(store, settings) == []


def test_r_and_t_halves_become_one_two_channel_job(spool, settings, store):
    rx = _file(spool / "1700000003.1-rx.wav")
    tx = _file(spool / "1700000003.1-tx.wav")
    (results,) = [sweep(store, settings)]
    assert len(results) == 1
    job = store.jobs.get(results[0].job_id)
    assert job.paths == (str(rx.resolve()), str(tx.resolve()))
    assert job.meta.uniqueid == "1700000003.1"


def test_a_lone_half_waits_for_its_twin_then_goes_alone(spool, settings, store):
    _file(spool / "1700000004.1-rx.wav", age_seconds=settings.spool_settle_seconds + 1)
    assert sweep(store, settings) == []
    later = sweep(store, settings, now=time.time() + settings.spool_settle_seconds * PAIR_PATIENCE)
    assert len(later) == 1 and len(store.jobs.get(later[0].job_id).paths) == 1


def test_unreadable_ticket_still_queues_the_recording_under_its_file_name(spool, settings, store):
    _file(spool / "1700000005.2.wav")
    (spool / "1700000005.2.json").write_text("{not json")
    (result,) = sweep(store, settings)
    assert store.jobs.get(result.job_id).meta.uniqueid == "1700000005.2"


def test_hostile_caller_id_in_a_ticket_is_stored_as_plain_text(spool, settings, store):
    hostile = '"; rm -rf / #$(reboot)`id`../../etc/passwd'
    _file(spool / "1700000006.1.wav")
    (spool / "1700000006.1.json").write_text(json.dumps({"caller": hostile}))
    (result,) = sweep(store, settings)
    assert store.jobs.get(result.job_id).meta.caller == hostile
    assert sorted(p.name for p in spool.iterdir()) == ["1700000006.1.json", "1700000006.1.wav"]


def test_a_voicemail_is_queued_as_a_private_copy_that_outlives_the_message(make_settings, tmp_path):
    from appliance.jobs.voicemail import scan_mailboxes
    from appliance.store import Store

    settings = make_settings(voicemail_dir=tmp_path / "voicemail", spool_settle_seconds=0)
    message = _file(settings.voicemail_dir / "default" / "100" / "INBOX" / "msg0000.wav")
    message.chmod(0o644)  # app_voicemail's files may be readable by its group and others
    message.with_suffix(".txt").write_text("[message]\ncallerid=<+4930111>\norigtime=1700000000\nmsg_id=1700000000-0\n")
    with Store.open(settings) as store:
        (queued,) = scan_mailboxes(store, settings)
        message.unlink()  # the owner deletes it from the phone
        (path,) = store.jobs.get(queued.job_id).paths
        assert scan_mailboxes(store, settings) == []
    copy = settings.data_dir / "recordings" / "voicemail" / "1700000000-0.wav"
    assert path == str(copy.resolve()) and copy.read_bytes() == b"\0\1" * 800
    assert copy.stat().st_mode & 0o007 == 0  # not the message's mode: nobody else reads it
    assert not list(copy.parent.glob("*.part"))
