"""Event-driven intake (appliance.jobs.nudge): what Asterisk's hook hands over is queued at once,
with no periodic sweep running at all (the scheduler is not started in these tests)."""

import base64
import struct
import subprocess
import threading

import pytest

from appliance.asterisk.install import HOOK, render_config
from appliance.jobs.nudge import Nudges, event_names

from support.processes import wait_for


@pytest.fixture
def intake(make_settings, tmp_path, store):
    # Settle and sweep times far beyond any test: only a nudge can queue anything here.
    settings = make_settings(spool_dir=tmp_path / "spool", voicemail_dir=tmp_path / "voicemail",
                             spool_settle_seconds=3600.0, sweep_interval_seconds=3600.0)
    (settings.spool_dir / "recording").mkdir(parents=True)
    render_config(settings, tmp_path / "etc", menus=[])
    queued = threading.Event()
    nudges = Nudges(settings, queued)
    nudges.start()
    wait_for(lambda: nudges.watching, "the spool watch", deadline=30)

    def hook(*args: str) -> None:
        subprocess.run(["/bin/sh", str(tmp_path / "etc" / HOOK), *args], check=True)

    yield settings, hook, queued
    nudges.stop()


def test_a_call_the_hook_hands_over_is_queued_at_once_and_the_worker_woken(intake, store):
    settings, hook, queued = intake
    (settings.spool_dir / "recording" / "1700000000.5.raw").write_bytes(b"\0\1" * 1600)
    hook("recording", "id=1700000000.5", "epoch=1700000000", "direction=inbound",
         f"callee={base64.b64encode(b'101').decode()}")

    call = wait_for(lambda: next(iter(store.calls.page(limit=5)), None), "the call to be queued", deadline=60)
    assert (call.uniqueid, call.callee, call.state) == ("1700000000.5", "101", "queued")
    assert queued.wait(timeout=60)


def test_a_voicemail_asterisk_announces_is_queued_at_once(intake, store):
    settings, hook, queued = intake
    inbox = settings.voicemail_dir / "default" / "102" / "INBOX"
    inbox.mkdir(parents=True)
    (inbox / "msg0000.wav").write_bytes(b"RIFF")
    (inbox / "msg0000.txt").write_text("[message]\ncallerid=<100>\norigtime=1700000000\nmsg_id=1700000000-1\n")
    hook("voicemail", "default", "102", "1", "0", "0")

    call = wait_for(lambda: next(iter(store.calls.page(limit=5, kind="voicemail")), None), "the voicemail", deadline=60)
    assert (call.callee, call.caller) == ("102", "100")
    assert queued.wait(timeout=60)


def test_inotify_events_are_read_with_their_names():
    packed = (struct.pack("iIII", 1, 0x80, 0, 16) + b"1700000000.5.raw" +
              struct.pack("iIII", 1, 0x100, 0, 20) + b".voicemail-changed\0\0")
    assert event_names(packed) == ["1700000000.5.raw", ".voicemail-changed"]
