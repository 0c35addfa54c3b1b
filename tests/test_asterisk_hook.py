"""The Asterisk hook (asterisk-config/appliance-hook.sh) as Asterisk runs it: /bin/sh, no Python.
Each test renders the installed hook and calls it the way the dialplan does."""

import base64
import json
import subprocess

import pytest

from appliance.asterisk.install import HOOK, render_config
from appliance.config import load_settings


@pytest.fixture
def hook(tmp_path):
    config = tmp_path / "appliance.toml"
    config.write_text("")
    settings = load_settings(config, environ={}, data_dir=tmp_path / "data",
                             spool_dir=tmp_path / "spool")
    render_config(settings, tmp_path / "etc", menus=[])
    (settings.spool_dir / "recording").mkdir(parents=True)

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["/bin/sh", str(tmp_path / "etc" / HOOK), *args], capture_output=True, text=True)

    run.spool = settings.spool_dir
    return run


def record(hook, uniqueid: str, callee: str, audio: bytes) -> subprocess.CompletedProcess:
    (hook.spool / "recording" / f"{uniqueid}.raw").write_bytes(audio)
    b64 = base64.b64encode(callee.encode()).decode()
    return hook("recording", f"id={uniqueid}", "epoch=1700000000", "direction=internal", f"callee={b64}")


def test_a_second_hand_off_for_the_same_call_never_replaces_the_first_ticket_or_audio(hook):
    assert record(hook, "1700000000.7", "101", b"first leg").returncode == 0
    second = record(hook, "1700000000.7", "200", b"second")

    assert second.returncode != 0 and "handed over already" in second.stderr
    ticket = json.loads((hook.spool / "1700000000.7.json").read_text())
    assert base64.b64decode(ticket["callee_b64"]).decode() == "101"
    assert (hook.spool / "1700000000.7.raw").read_bytes() == b"first leg"
    assert not list(hook.spool.glob(".*.json.*")), "no temporary ticket left behind"


def test_a_call_that_went_to_a_mailbox_unanswered_leaves_no_call_behind(hook):
    assert hook("unanswered", "id=1700000000.9").returncode == 0
    assert record(hook, "1700000000.9", "101", b"ringing only").returncode == 0

    assert sorted(p.name for p in hook.spool.rglob("*")) == ["recording"]


def test_an_answered_call_is_handed_over_with_its_audio(hook):
    assert record(hook, "1700000000.11", "101", b"talk").returncode == 0
    assert (hook.spool / "1700000000.11.raw").read_bytes() == b"talk"
    assert not (hook.spool / "recording" / "1700000000.11.raw").exists()
