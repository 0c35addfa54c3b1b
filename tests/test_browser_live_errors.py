"""The calls list says why a job failed in the reader's language even when the failure arrives
while the list is open (its script draws the state and the tooltip from the server's events):
the page carries the texts of job errors in German, the event carries the error's case and
values, and a real browser (Debian's Chromium driven by Playwright) against a real
`appliance serve` shows the German tooltip without a reload."""

from __future__ import annotations

import html
import json
import re

import pytest

from appliance.transcript.model import CallMeta
from support.web import write_wav

try:
    from playwright.sync_api import expect
except ImportError:  # the `chromium` fixture says what is missing
    expect = None

UNDECODABLE = {"file": "tooltip.wav", "detail": "moov atom not found"}
GERMAN = "tooltip.wav: keine Audiodatei, die dieses Gerät dekodieren kann (moov atom not found)"


def queued_call(store, folder, uniqueid: str) -> tuple[int, int]:
    result = store.intake.enqueue(CallMeta(uniqueid=uniqueid, caller="+49 30 777", callee="201"),
                                  [str(write_wav(folder / f"{uniqueid}.wav"))])
    return result.call_id, result.job_id


def quarantine(store, job_id: int) -> None:
    """What the worker does with a file it cannot decode."""
    assert store.jobs.claim("tooltip-test", 60).id == job_id
    store.jobs.fail(job_id, "tooltip-test", "tooltip.wav: not an audio file this appliance can decode "
                    "(moov atom not found)", permanent=True, max_attempts=3, backoff_seconds=1.0,
                    code="audio-undecodable", values=UNDECODABLE)


def test_the_list_carries_german_error_texts_and_the_event_the_errors_case(store, viewer_client, viewer_user,
                                                                            tmp_path):
    store.users.set_locale(viewer_user.id, "de")
    call_id, job_id = queued_call(store, tmp_path, "tooltip-1")
    page = viewer_client.get("/").get_data(as_text=True)
    texts = json.loads(html.unescape(re.search(r"data-job-errors='([^']*)'", page)[1]))
    assert texts["audio-undecodable"] == "%(file)s: keine Audiodatei, die dieses Gerät dekodieren kann (%(detail)s)"
    assert "Datei ist leer" in texts["audio-empty-file"]
    quarantine(store, job_id)
    stream = viewer_client.get("/events?since=0").get_data(as_text=True)
    [event] = [json.loads(line[6:]) for line in stream.splitlines()
               if line.startswith("data: ") and json.loads(line[6:])["id"] == call_id]
    assert (event["state"], event["error_code"], event["error_values"]) == ("quarantined", "audio-undecodable",
                                                                            UNDECODABLE)


def test_a_job_failing_while_the_list_is_open_explains_itself_in_german(browser, served):
    with served.store() as store:
        store.users.set_locale(store.users.by_name("vic").id, "de")
        call_id, job_id = queued_call(store, served.data_dir / "recordings", "tooltip-2")
    context = browser.new_context(base_url=served.url, locale="de-DE", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(30_000)
    try:
        page = context.new_page()
        page.goto("/login")
        page.fill("input[name=username]", "vic")
        page.fill("input[name=password]", served.passwords["vic"])
        page.click("form.login button[type=submit]")
        state = page.locator(f'[data-state-for="{call_id}"]')
        expect(state).to_have_text("wartet")
        # The stream starts where the page was rendered: a change after that is sent however
        # late the stream connects.
        with served.store() as store:
            quarantine(store, job_id)
        expect(state).to_have_text("unbrauchbare Aufnahme")  # nobody reloads
        expect(state).to_have_attribute("title", GERMAN)
    finally:
        context.close()
        with served.store() as store:
            store.users.set_locale(store.users.by_name("vic").id, "en")
