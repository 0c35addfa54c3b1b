"""Real calls through a real Asterisk 22: recorded by the dialplan, transcribed by the worker."""

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from appliance import democall
from appliance.asterisk.ari import Ari
from appliance.config import load_settings
from appliance.store import Store
from asterisk_harness import settings_overrides, start_asterisk

pytestmark = pytest.mark.model

APPLIANCE = Path(sys.executable).with_name("appliance")
DEADLINE = 300


@pytest.fixture(scope="module")
def box(tmp_path_factory, models_dir):
    """Asterisk in its root, and the appliance's worker on the host, sharing the spool."""
    from asterisk_harness import ROOT

    data = tmp_path_factory.mktemp("box")
    overrides = {**settings_overrides(ROOT), "data_dir": data, "models_dir": models_dir,
                 "sweep_interval_seconds": 1.0, "spool_settle_seconds": 1.0, "poll_interval_seconds": 0.2}
    settings = load_settings(Path("/dev/null"), environ={}, **overrides)
    asterisk = start_asterisk(settings)
    env = {**os.environ, "APPLIANCE_CONFIG": "/dev/null",
           **{f"APPLIANCE_{k.upper()}": str(v) for k, v in overrides.items()}}
    worker_log = open(data / "worker.log", "w")
    worker = subprocess.Popen([str(APPLIANCE), "-v", "worker"], env=env, stdout=worker_log, stderr=subprocess.STDOUT)
    try:
        yield settings, asterisk, env
    finally:
        worker.terminate()
        worker.wait(timeout=60)
        worker_log.close()
        asterisk.stop()


def wait_for(condition, what):
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"gave up waiting for {what}")


def _words(text):
    return re.sub(r"[^\w ]+", " ", text.lower())


def test_selftest_passes_against_the_installed_asterisk(box):
    settings, asterisk, env = box
    result = subprocess.run([str(APPLIANCE), "selftest", "--timeout", "240"], env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    for stage in ("recorded", "queued", "transcribed", "speakers right", "searchable"):
        assert re.search(rf"^ok\s+{stage}", result.stdout, re.M), result.stdout
    assert "self-test passed" in result.stdout


def test_a_real_call_is_transcribed_with_each_party_and_the_metadata_from_asterisk(box):
    settings, asterisk, env = box
    caller_voice = asterisk.add_sound("caller-austen", democall.LIBRIVOX / "sense_and_sensibility_01_austen_64kb-0870.wav")
    asterisk.add_sound("callee-201", democall.ASTERISK_SOUNDS / "queue-periodic-announce.wav")
    # Caller ID is attacker-controlled: shell and path metacharacters must arrive as text.
    hostile = "$(touch /tmp/pwned);`id`|../../x"
    Ari.from_settings(settings).originate(
        f"Local/{caller_voice.split('/')[1]}@test-caller", context="test-pbx", extension="201",
        caller_id=f'"Mallory" <{hostile}>', variables={"CALLER_SECONDS": "9"})

    with Store.open(settings) as store:
        call = wait_for(lambda: next((c for c in store.calls() if c.callee == "201" and c.state == "done"), None),
                        "the call to be transcribed")
        transcript = store.transcript(call.id)

    assert call.caller == hostile
    assert call.direction == "inbound" and call.uniqueid and call.started_at
    assert not Path("/tmp/pwned").exists() and not (asterisk.root / "tmp/pwned").exists()
    by_role = {s.role: _words(" ".join(t.text for t in transcript.turns if t.speaker == s.index))
               for s in transcript.speakers}
    assert "dashwood" in by_role["caller"] and "representatives" not in by_role["caller"]
    assert "representatives" in by_role["callee"] and "dashwood" not in by_role["callee"]
    assert [s.label for s in transcript.speakers] == [hostile, "201"]
