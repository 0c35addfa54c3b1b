"""More real calls through a real Asterisk 22: a real SIP phone, an appliance that is down while
calls end, a self-test that names the stage that failed, recordings Asterisk left behind.

Asterisk runs in its test root (tests/support/asterisk.py); the worker is an `appliance worker`
subprocess this module starts and stops itself. Only one Asterisk runs at a time: this module's
fixture starts its own after the other modules' fixtures have stopped theirs.
"""

import base64
import json
import os
import re
import shutil
import subprocess
import threading
import time
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest

from appliance import democall
from appliance.asterisk.ari import Ari
from appliance.asterisk.install import HOOK, load_secrets
from appliance.config import load_settings
from appliance.store import Store
from support.asterisk import SIP, ROOT, baresip_phone, by_role, settings_overrides, start_asterisk
from support.processes import wait_for
from support.processes import APPLIANCE

pytestmark = pytest.mark.model

# Small, so the test need not wait long for a recording Asterisk left in spool/recording/.
ABANDONED_SECONDS = 5.0
AUSTEN = democall.LIBRIVOX / "sense_and_sensibility_01_austen_64kb-0870.wav"  # "... john dashwood ..."
AUSTEN_MARRIED = democall.LIBRIVOX / "sense_and_sensibility_01_austen_64kb-0920.wav"  # "... married ... amiable ..."
REPRESENTATIVES = democall.ASTERISK_SOUNDS / "queue-periodic-announce.wav"  # "... representatives ..."
NOBODY = democall.ASTERISK_SOUNDS / "vm-nobodyavail.wav"  # "nobody is available ..."


class WorkerProcess:
    """`appliance worker` on the host, started and stopped by the tests."""

    def __init__(self, env: dict, log: Path) -> None:
        self.env, self.log = env, log
        self.process: subprocess.Popen | None = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        if self.running:
            return
        with open(self.log, "a") as log:
            self.process = subprocess.Popen([str(APPLIANCE), "-v", "worker"], env=self.env, stdout=log,
                                            stderr=subprocess.STDOUT)

    def stop(self) -> None:
        if self.running:
            self.process.terminate()
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture(scope="module")
def lab(tmp_path_factory, models_dir):
    """Asterisk in its root and a worker this module controls, sharing the spool."""
    data = tmp_path_factory.mktemp("lab")
    overrides = {**settings_overrides(ROOT), "data_dir": data, "models_dir": models_dir,
                 "sweep_interval_seconds": 1.0, "spool_settle_seconds": 1.0, "poll_interval_seconds": 0.2,
                 "spool_abandoned_seconds": ABANDONED_SECONDS, "mail_relay": "127.0.0.1:9"}
    config = data / "appliance.toml"
    config.write_text("")
    settings = load_settings(config, environ={}, **overrides)
    asterisk = start_asterisk(settings)
    env = {**os.environ, "APPLIANCE_CONFIG": str(config),
           **{f"APPLIANCE_{k.upper()}": str(v) for k, v in overrides.items()}}
    worker = WorkerProcess(env, data / "worker.log")
    worker.start()
    try:
        yield SimpleNamespace(settings=settings, asterisk=asterisk, env=env, worker=worker, data=data)
    finally:
        worker.stop()
        asterisk.stop()


@pytest.fixture(autouse=True)
def worker_up(lab):
    """Every test starts with the worker running, whatever the one before did to it."""
    lab.worker.start()
    yield
    lab.worker.start()


def done_call(store, **match):
    return next((c for c in store.calls.page(limit=200)
                 if c.state == "done" and all(getattr(c, k) == v for k, v in match.items())), None)


# --- a real SIP phone ----------------------------------------------------------------------------

def test_a_call_from_a_real_sip_phone_is_transcribed_with_the_phone_as_caller(lab, tmp_path):
    settings, asterisk = lab.settings, lab.asterisk
    # Extension 8XX (tests/asterisk/extensions_local.conf, reachable from the phones' context)
    # records like any internal call, listens for 10 s, then says its prompt.
    asterisk.add_sound("callee-801", REPRESENTATIVES)
    password = load_secrets(settings)["phones"]["100"]["password"]
    phone = baresip_phone(tmp_path / "baresip", "100", password, AUSTEN, seconds_after=20)

    result = subprocess.run(["baresip", "-f", str(phone), "-e", f"/dial sip:801@{SIP}", "-t", "35"],
                            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
    log = result.stdout[-3000:] + result.stderr[-2000:]
    assert "Call established" in result.stdout, log

    with Store.open(settings) as store:
        call = wait_for(lambda: done_call(store, callee="801"), "the phone's call to be transcribed")
        transcript = store.transcripts.get(call.id)

    assert (call.caller, call.direction) == ("100", "internal"), log
    roles = by_role(transcript)
    assert "dashwood" in roles["caller"] and "representatives" not in roles["caller"], roles
    assert "representatives" in roles["callee"] and "dashwood" not in roles["callee"], roles
    assert [s.label for s in transcript.speakers] == ["100", "801"]


# --- the appliance is down while calls end -------------------------------------------------------

def spooled_tickets(spool: Path, callees: set[str]) -> dict[str, Path]:
    """callee -> the ticket of a finished call to it whose recording lies beside it."""
    found = {}
    for ticket in spool.glob("*.json"):
        try:
            data = json.loads(ticket.read_text())
        except (OSError, ValueError):
            continue
        callee = base64.b64decode(data.get("callee_b64", "")).decode()
        if callee in callees and ticket.with_suffix(".raw").is_file():
            found[callee] = ticket
    return found


def test_calls_that_end_while_the_appliance_is_down_are_each_transcribed_once_when_it_is_back(lab):
    settings, asterisk = lab.settings, lab.asterisk
    calls = {"301": ("down-austen", AUSTEN, NOBODY, "dashwood"),
             "302": ("down-married", AUSTEN_MARRIED, REPRESENTATIVES, "married")}
    lab.worker.stop()
    for callee, (voice, caller_file, callee_file, _) in calls.items():
        asterisk.add_sound(voice, caller_file)
        asterisk.add_sound(f"callee-{callee}", callee_file)
    ari = Ari.from_settings(settings)
    for callee, (voice, *_) in calls.items():
        ari.originate(f"Local/{voice}@test-caller", context="test-pbx", extension=callee,
                      caller_id=f'"Down {callee}" <+49305550{callee}>', variables={"CALLER_SECONDS": "9"})

    tickets = wait_for(lambda: (found := spooled_tickets(settings.spool_dir, set(calls))) and len(found) == 2
                       and found, "both recordings and their tickets in the spool")
    with Store.open(settings) as store:
        assert not [c for c in store.calls.page(limit=200) if c.callee in calls], "nothing may sweep while down"

    lab.worker.start()
    with Store.open(settings) as store:
        done = {callee: wait_for(lambda callee=callee: done_call(store, callee=callee), f"call {callee}")
                for callee in calls}
        # Several more sweeps after both are done: a second look must not queue them again.
        time.sleep(5 * settings.sweep_interval_seconds)
        for callee, call in done.items():
            assert [c.id for c in store.calls.page(limit=200) if c.callee == callee] == [call.id]
            assert call.uniqueid == tickets[callee].stem
            jobs = [j for j in store.jobs.all(limit=1000) if j.call_id == call.id]
            assert [(j.state, j.attempts) for j in jobs] == [("done", 1)]
            assert store.transcripts.count(call.recording_id) == 1
            word = calls[callee][3]
            assert word in by_role(store.transcripts.get(call.id))["caller"]


# --- the self-test names the stage that failed ---------------------------------------------------

def selftest(lab, timeout: int) -> subprocess.CompletedProcess:
    return subprocess.run([str(APPLIANCE), "selftest", "--timeout", str(timeout)], env=lab.env,
                          capture_output=True, text=True, timeout=timeout + 120)


def test_selftest_fails_at_stage_queued_when_no_worker_runs_and_the_call_is_not_lost(lab):
    lab.worker.stop()
    result = selftest(lab, 40)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "self-test failed at stage 'queued'" in result.stderr, output
    assert re.search(r"^ok\s+recorded", result.stdout, re.M), output
    assert re.search(r"^FAIL\s+queued", result.stdout, re.M), output

    # The self-test's call waited in the spool; a worker that comes back transcribes it.
    lab.worker.start()
    with Store.open(lab.settings) as store:
        call = wait_for(lambda: done_call(store, callee="selftest"), "the self-test's call")
        assert store.transcripts.count(call.recording_id) == 1


def test_selftest_fails_at_stage_recorded_when_the_asterisk_hook_is_broken(lab):
    hook = lab.asterisk.root / "etc/asterisk" / HOOK
    working = hook.read_bytes()
    mode = hook.stat().st_mode
    try:
        hook.write_text("#!/bin/sh\nexit 1\n")
        result = selftest(lab, 40)
    finally:
        hook.write_bytes(working)
        hook.chmod(mode)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "self-test failed at stage 'recorded'" in result.stderr, output
    assert "appliance-hook.sh" in result.stderr, output  # where the admin should look


# --- recordings Asterisk left in spool/recording/ ------------------------------------------------

@pytest.fixture(scope="module")
def asterisk_raw(lab, tmp_path_factory):
    """A MixMonitor D recording (caller: Austen, callee: the representatives prompt) made by
    Asterisk in this module, copied out of the spool."""
    settings, asterisk = lab.settings, lab.asterisk
    asterisk.add_sound("left-austen", AUSTEN)
    asterisk.add_sound("callee-401", REPRESENTATIVES)
    Ari.from_settings(settings).originate("Local/left-austen@test-caller", context="test-pbx", extension="401",
                                          caller_id='"Left" <401000>', variables={"CALLER_SECONDS": "9"})
    ticket = wait_for(lambda: spooled_tickets(settings.spool_dir, {"401"}).get("401"), "call 401's recording")
    copy = tmp_path_factory.mktemp("raw") / "call-401.raw"
    shutil.copy(ticket.with_suffix(".raw"), copy)
    return copy


def test_a_recording_left_in_progress_is_transcribed_once_abandoned_but_not_while_still_written(lab, asterisk_raw):
    settings = lab.settings
    in_progress = settings.spool_dir / "recording"
    tag = uuid.uuid4().hex[:8]
    # Asterisk died mid-call an hour ago: the half-written file stayed, no ticket, no hook.
    abandoned = in_progress / f"abandoned-{tag}.raw"
    shutil.copy(asterisk_raw, abandoned)
    an_hour_ago = time.time() - 3600
    os.utime(abandoned, (an_hour_ago, an_hour_ago))

    # A call in progress: MixMonitor appends 20 ms frames in real time (silence when nobody speaks).
    growing = in_progress / f"growing-{tag}.raw"
    audio = asterisk_raw.read_bytes()
    frame = 2 * 2 * 160  # 20 ms of 2-channel 8 kHz s16
    stop_writing = threading.Event()

    def write_like_mixmonitor():
        with open(growing, "ab") as out:
            offset = 0
            while not stop_writing.is_set():
                chunk = audio[offset: offset + 10 * frame] if offset < len(audio) else bytes(10 * frame)
                offset += len(chunk)
                out.write(chunk)
                out.flush()
                time.sleep(0.2)

    writer = threading.Thread(target=write_like_mixmonitor, daemon=True)
    writer.start()
    began = time.monotonic()
    try:
        with Store.open(settings) as store:
            def abandoned_done():
                assert str(growing.resolve()) not in store.intake.known_paths(), "a file still written was taken"
                return done_call(store, uniqueid=abandoned.stem)

            call = wait_for(abandoned_done, "the abandoned recording to be transcribed")
            # Give the sweep many chances at the growing file (several abandon periods).
            while time.monotonic() - began < 4 * ABANDONED_SECONDS:
                assert str(growing.resolve()) not in store.intake.known_paths(), "a file still written was taken"
                time.sleep(0.5)
            assert str(growing.resolve()) not in store.intake.known_paths()
    finally:
        stop_writing.set()
        writer.join()

    with Store.open(settings) as store:
        transcript = store.transcripts.get(call.id)
        assert store.transcripts.count(call.recording_id) == 1
        assert [j.attempts for j in store.jobs.all(limit=1000) if j.call_id == call.id] == [1]
        roles = by_role(transcript)
        assert "dashwood" in roles["caller"] and "representatives" in roles["callee"], roles
        assert store.recordings.files(call.id) == (str(abandoned.resolve()),)

        # Once the writing stops for good, that file too is taken, whole.
        finished = wait_for(lambda: done_call(store, uniqueid=growing.stem), "the finished recording")
        assert "dashwood" in by_role(store.transcripts.get(finished.id))["caller"]
