"""The web UI in a real browser (Debian's Chromium driven by Playwright) against a real stack:
`appliance serve` and `appliance worker` as processes, a real two-voice call transcribed by
the real model, a broken file quarantined. Each test logs in through the login form in a
browser context of its own.

Screenshots go to $APPLIANCE_TEST_ARTIFACTS (default var/test-artifacts) for a person to look at.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

try:
    from playwright.sync_api import expect
except ImportError:  # the `chromium` fixture says what is missing
    expect = None

from appliance import democall
from appliance.store import Store
from support.browser import artifacts_dir
from support.processes import APPLIANCE, wait_for

pytestmark = pytest.mark.model

LIVE_WAIT_MS = 120_000
CALLER, CALLEE = "+49 30 1234567", "200"
LIVE_CALLER = "+49 89 7654321"


# --- the running appliance --------------------------------------------------------------------


@dataclass
class Stack:
    url: str
    env: dict
    data_dir: Path
    work_dir: Path
    passwords: dict[str, str]
    call_id: int
    bad_job_id: int

    def store(self) -> Store:
        return Store(self.data_dir / "appliance.db")

    def cli(self, *args: str, given: str | None = None) -> str:
        """`appliance ARGS`, with `given` on its standard input."""
        done = subprocess.run([str(APPLIANCE), *args], env=self.env, input=given, capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 0, f"appliance {' '.join(args)} failed: {done.stderr}"
        return done.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def ingested_ids(output: str) -> tuple[int, int]:
    """`appliance ingest` prints "call N: job M queued"."""
    match = re.search(r"call (\d+): job (\d+)", output)
    assert match, output
    return int(match[1]), int(match[2])


@pytest.fixture(scope="module")
def stack(chromium, tmp_path_factory, models_dir):
    work = tmp_path_factory.mktemp("browser")
    data = work / "data"
    env = {
        **os.environ,
        "APPLIANCE_CONFIG": "/dev/null",
        "APPLIANCE_DATA_DIR": str(data),
        "APPLIANCE_MODELS_DIR": str(models_dir),
        "APPLIANCE_POLL_INTERVAL_SECONDS": "0.2",
        "APPLIANCE_SWEEP_INTERVAL_SECONDS": "1",
    }
    url = f"http://127.0.0.1:{free_port()}"
    stack = Stack(url=url, env=env, data_dir=data, work_dir=work, passwords={}, call_id=0, bad_job_id=0)
    for name, role in (("admin", "admin"), ("viewer", "viewer"), ("greta", "viewer")):
        # Chosen, not generated: a generated password would send each test to the change form first.
        stack.passwords[name] = f"{name}-browser-password"
        stack.cli("users", "add", name, "--role", role, "--scope", "all", "--may-edit", "--password",
                  given=f"{stack.passwords[name]}\n" * 2)

    recording = democall.write_stereo_wav(democall.mix_call(), work / "call.wav")
    stack.call_id, _ = ingested_ids(stack.cli("ingest", str(recording), "--caller", CALLER, "--callee", CALLEE,
                                              "--direction", "inbound"))
    broken = work / "broken.wav"
    broken.write_text("this is a text file, not a recording\n")
    _, stack.bad_job_id = ingested_ids(stack.cli("ingest", str(broken)))

    logs = (work / "worker.log", work / "serve.log")
    handles = [log.open("wb") for log in logs]
    processes = [
        subprocess.Popen([str(APPLIANCE), "worker"], env=env, stdout=handles[0], stderr=subprocess.STDOUT),
        subprocess.Popen([str(APPLIANCE), "serve", "--host", "127.0.0.1", "--port", url.rsplit(":", 1)[1]],
                         env=env, stdout=handles[1], stderr=subprocess.STDOUT),
    ]
    try:
        with stack.store() as store:
            wait_for(lambda: answers(f"{url}/login"), "the web server to answer", processes, logs)
            wait_for(lambda: store.calls.get(stack.call_id).state == "done", "the call to be transcribed", processes, logs)
            wait_for(lambda: store.jobs.get(stack.bad_job_id).state == "quarantined", "the broken file's job",
                     processes, logs)
        yield stack
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for handle in handles:
            handle.close()


# --- the browser --------------------------------------------------------------------------------


@pytest.fixture
def open_page(browser, stack):
    """A fresh browser context per user, logged in through the real login form."""
    contexts = []

    def open_as(username: str | None):
        context = browser.new_context(base_url=stack.url, accept_downloads=True, locale="en-US",
                                      viewport={"width": 1280, "height": 900})
        context.set_default_timeout(30_000)
        contexts.append(context)
        page = context.new_page()
        if username:
            log_in(page, username, stack.passwords[username])
            page.wait_for_url(re.compile(r"^(?!.*/login)"))
        return page

    yield open_as
    for context in contexts:
        context.close()


def log_in(page, username: str, password: str) -> None:
    page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("form.login button[type=submit]")


# Keeps the page's EventSource objects where a test can ask whether the stream is open.
REMEMBER_EVENT_SOURCES = """
window.__eventSources = [];
window.EventSource = class extends window.EventSource {
  constructor(...args) { super(...args); window.__eventSources.push(this); }
};
"""


def turn_start(page, index: int) -> float:
    return float(page.get_attribute(f"#t{index}", "data-start"))


# --- the tests ------------------------------------------------------------------------------------


def test_login_shows_the_calls_list_with_the_transcribed_call(open_page, stack):
    page = open_page("admin")
    row = page.locator(f'table.calls tr[data-call="{stack.call_id}"]')
    expect(row).to_contain_text(CALLER)
    expect(row.locator(f'[data-state-for="{stack.call_id}"]')).to_have_text("done")
    expect(row).to_contain_text(CALLEE)
    page.screenshot(path=artifacts_dir() / "calls-list.png", full_page=True)


def test_wrong_password_shows_an_error_and_stays_on_the_login_page(open_page):
    page = open_page(None)
    log_in(page, "admin", "not-the-password")
    expect(page.locator(".flash.error")).to_have_text("Wrong user name or password.")
    expect(page.locator("header.top")).to_have_count(0)
    assert "/login" in page.url


def test_call_page_shows_both_speakers_taking_turns(open_page, stack):
    page = open_page("admin")
    page.goto(f"/calls/{stack.call_id}")
    turns = page.locator("#transcript .turn")
    expect(turns.first).to_be_visible()
    labels = page.locator("section.speakers input[name=label]")
    expect(labels.nth(0)).to_have_value(CALLER)
    expect(labels.nth(1)).to_have_value(CALLEE)
    for label in (CALLER, CALLEE):
        expect(page.locator("#transcript .turn .who", has_text=label).first).to_be_visible()

    rows = [(turn.locator(".who").inner_text(), turn.locator("p").inner_text()) for turn in turns.all()]
    by_speaker = {who: " ".join(text for w, text in rows if w == who) for who, _ in rows}
    assert set(by_speaker) == {CALLER, CALLEE}
    assert "Dashwood" in by_speaker[CALLER]  # the LibriVox reader calls in
    assert "representatives" in by_speaker[CALLEE] and "phone number" in by_speaker[CALLEE]
    speakers = [who for who, _ in rows]
    assert all(a != b for a, b in zip(speakers, speakers[1:])), speakers  # each turn hands over
    expect(page.locator(f"#transcript .turn:has-text('Dashwood') .who")).to_be_visible()
    page.screenshot(path=artifacts_dir() / "call-page.png", full_page=True)


def test_clicking_a_turn_plays_from_there_and_marks_it_current(open_page, stack):
    page = open_page("admin")
    page.goto(f"/calls/{stack.call_id}")
    fourth = turn_start(page, 3)
    page.click("#t3 button.when")
    page.wait_for_function(
        """start => { const p = document.getElementById('player');
                      return p.currentTime >= start - 0.3 && !p.paused
                             && document.getElementById('t3').classList.contains('current'); }""",
        arg=fourth)

    # A word of an earlier turn: the player jumps back to it.
    word = page.locator("#t1 span.w").nth(2)
    word_start = float(word.get_attribute("data-seek"))
    assert word_start < fourth - 1
    word.click()
    page.wait_for_function(
        """([start, before]) => { const p = document.getElementById('player');
                                  return p.currentTime >= start - 0.3 && p.currentTime < before - 0.5
                                         && document.getElementById('t1').classList.contains('current'); }""",
        arg=[word_start, fourth])
    expect(page.locator("#t3")).not_to_have_class(re.compile(r"\bcurrent\b"))


def test_search_from_the_header_finds_a_spoken_word_and_opens_the_moment(open_page, stack):
    page = open_page("viewer")
    page.fill("header.top input[name=q]", "Dashwood")
    page.press("header.top input[name=q]", "Enter")
    page.wait_for_url(re.compile(r"/search\?q=Dashwood"))
    hit = page.locator("ol.hits li a").first
    expect(hit.locator(".snippet mark")).to_have_text("Dashwood")
    expect(hit).to_contain_text(CALLER)
    page.screenshot(path=artifacts_dir() / "search-page.png", full_page=True)

    href = hit.get_attribute("href")
    start = float(re.search(r"#t=([\d.]+)$", href)[1])
    hit.click()
    page.wait_for_url(re.compile(rf"/calls/{stack.call_id}#t="))
    page.wait_for_function("start => Math.abs(document.getElementById('player').currentTime - start) < 0.5",
                           arg=start)
    current = page.locator("#transcript .turn.current")
    expect(current).to_contain_text("Dashwood")


def test_a_malformed_search_explains_itself_instead_of_failing(open_page):
    page = open_page("viewer")
    response = page.goto('/search?q="open')
    assert response.status == 400  # a bad request, not a server error
    expect(page.locator(".flash.error[role=alert]")).to_contain_text("unbalanced quote")
    expect(page.locator("h1")).to_have_text("Search")
    expect(page.locator("main input[name=q]")).to_have_value('"open')


def test_exports_download_in_every_format(open_page, stack):
    page = open_page("viewer")
    page.goto(f"/calls/{stack.call_id}")
    files = {}
    for fmt in ("TXT", "SRT", "VTT", "JSON", "DOCX"):
        with page.expect_download() as info:
            page.click(f"section.exports a.button:text-is('{fmt}')")
        download = info.value
        assert download.suggested_filename == f"call-{stack.call_id}.{fmt.lower()}"
        files[fmt] = Path(download.path()).read_bytes()

    txt = files["TXT"].decode()
    assert "Dashwood" in txt
    assert re.search(rf"^\[\d\d:\d\d\] {re.escape(CALLER)}: ", txt, re.M), txt
    srt = files["SRT"].decode()
    assert re.search(r"^\d\d:\d\d:\d\d,\d\d\d --> \d\d:\d\d:\d\d,\d\d\d$", srt, re.M), srt
    vtt = files["VTT"].decode()
    assert vtt.startswith("WEBVTT")
    assert f"<v {CALLEE}>" in vtt
    model = json.loads(files["JSON"])
    assert model["turns"] and all(turn["words"] for turn in model["turns"])
    assert {s["label"] for s in model["speakers"]} == {CALLER, CALLEE}
    docx = stack.work_dir / "export.docx"
    docx.write_bytes(files["DOCX"])
    with zipfile.ZipFile(docx) as archive:
        assert "Dashwood" in archive.read("word/document.xml").decode()


def test_jobs_page_shows_why_a_file_was_quarantined_and_reruns_it(open_page, stack):
    with stack.store() as store:
        job = store.jobs.get(stack.bad_job_id)
        assert job.state == "quarantined"
        page = open_page("admin")
        page.click("header.top nav a:text-is('Jobs')")
        row = page.locator(f'tr[data-job="{stack.bad_job_id}"]')
        expect(row.locator(".reason")).to_have_text(job.error)
        assert "not an audio file" in job.error
        expect(row).to_contain_text("broken.wav")
        page.screenshot(path=artifacts_dir() / "jobs-page.png", full_page=True)

        retries_before = store.audit.count(action="retry")
        row.locator("button:text-is('Re-run')").click()
        expect(page.locator(".flash.info")).to_have_text(f"Job {stack.bad_job_id} is queued again.")
        assert store.audit.count(action="retry") == retries_before + 1
        assert store.audit.entries(action="retry", limit=1)[0].target == f"job {stack.bad_job_id}"
        # The worker takes it again and sets it aside again, with a fresh count of attempts.
        again = wait_for(lambda: (j := store.jobs.get(stack.bad_job_id)).updated_at > job.updated_at
                         and j.state == "quarantined" and j, "the re-run to finish")
        assert again.attempts == 1 and again.error == job.error
    page.reload()
    expect(page.locator(f'tr[data-job="{stack.bad_job_id}"]')).to_contain_text("bad recording")


def test_a_viewer_sees_no_admin_pages(open_page):
    page = open_page("viewer")
    expect(page.locator("header.top nav a")).to_have_text(["Calls", "Voicemail", "Voice notes", "Search", "Dashboard"])
    response = page.goto("/jobs")
    assert response.status == 403
    assert page.goto("/admin/users").status == 403


def test_the_calls_list_updates_itself_when_a_new_call_is_transcribed(open_page, stack):
    page = open_page("viewer")
    page.context.add_init_script(REMEMBER_EVENT_SOURCES)
    page.reload()
    expect(page.locator(f'tr[data-call="{stack.call_id}"]')).to_be_visible()
    # The stream starts at "now": connected first, it cannot miss the call's first change.
    page.wait_for_function("() => window.__eventSources.some(s => s.readyState === EventSource.OPEN)")
    short = democall.write_stereo_wav(democall.mix_call(democall.DEMO_SCRIPT[:2]), stack.work_dir / "short.wav")
    call_id, _ = ingested_ids(stack.cli("ingest", str(short), "--caller", LIVE_CALLER, "--callee", "201",
                                        "--direction", "inbound"))

    # Nobody reloads: the page follows the server's events (and reloads itself for new rows).
    state = page.locator(f'[data-state-for="{call_id}"]')
    expect(state).to_have_text("done", timeout=LIVE_WAIT_MS)
    row = page.locator(f'tr[data-call="{call_id}"]')
    expect(row).to_contain_text(LIVE_CALLER)
    expect(row.locator(f'[data-duration-for="{call_id}"]')).not_to_be_empty(timeout=LIVE_WAIT_MS)


def test_renaming_a_speaker_relabels_their_turns(open_page, stack):
    page = open_page("admin")
    page.goto(f"/calls/{stack.call_id}")
    form = page.locator("section.speakers form").first
    expect(form.locator("input[name=label]")).to_have_value(CALLER)
    try:
        form.locator("input[name=label]").fill("Mrs Jennings")
        form.locator("button:text-is('Rename')").click()
        expect(page.locator("section.speakers input[name=label]").first).to_have_value("Mrs Jennings")
        labels = page.locator("#transcript .turn .who").all_inner_texts()
        assert set(labels) == {"Mrs Jennings", CALLEE}
        expect(page.locator("#transcript .turn:has-text('Dashwood') .who")).to_have_text("Mrs Jennings")
    finally:
        with stack.store() as store:
            store.transcripts.rename_speaker(stack.call_id, 0, CALLER)


def test_choosing_german_on_the_account_page_translates_the_ui(open_page):
    page = open_page("greta")
    expect(page.locator("header.top nav a")).to_have_text(["Calls", "Voicemail", "Voice notes", "Search", "Dashboard"])
    page.click("header.top a.account")
    page.select_option("select[name=locale]", "de")
    page.locator("form:has(select[name=locale]) button[type=submit]").click()
    expect(page.locator("header.top nav a")).to_have_text(["Gespräche", "Sprachnachrichten", "Sprachnotizen", "Suche", "Übersicht"])
    expect(page.locator("html")).to_have_attribute("lang", "de")
    page.goto("/")
    expect(page.locator("h1")).to_contain_text("Gespräche")
