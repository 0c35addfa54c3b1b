"""The conversation metrics and the vCon as a person and a program read them, from the real server:
the call page (English and German), the JSON and vCon exports, /api/calls/ID(/vcon), `appliance
show`; scoped and audited like every read of a call."""

import base64
import html
import json
import re

import pytest

from appliance.analytics.metrics import compute
from appliance.analytics.vcon import content_hash
from vcon_check import vcon_problems

# Caller 1.0-4.0 and 6.0-9.5 s; the agent breaks in at 3.5 s (the caller stops) and talks until
# 5.0: talk 6.5 s / 1.5 s, overlap 0.5 s once, one second of dead air, monologues 3.5 / 1.5 s.
CALLER = [(1.0, 4.0), (6.0, 9.5)]
AGENT = [(3.5, 5.0)]


@pytest.fixture(scope="module")
def measured(served):
    metrics = compute([CALLER, AGENT], ["Is it open? Hello?", "yes it is"], exact=True)
    with served.store() as store:
        for call_id, transcript_id in store.metrics.needing():
            if call_id == served.own_call:
                store.metrics.save(call_id, transcript_id, metrics.to_dict())
    return served


def metrics_text(page: str) -> str:
    """The metrics section as a person reads it: tags gone, spaces collapsed."""
    match = re.search(r'<section class="metrics".*?</section>', page, re.S)
    assert match, "no metrics on the call page"
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", match[0]))).strip()


def test_the_call_page_shows_the_figures_beside_the_timeline(measured):
    page = measured.login("admin").get(f"/calls/{measured.own_call}")
    assert page.status == 200
    text = metrics_text(page.text)
    assert "Caller Agent" in text  # one column per speaker
    assert "Talk time 6.5 s 1.5 s" in text
    assert "Talk share 81 % 19 %" in text
    assert "Interruptions 0 1" in text
    assert "Questions 2 0" in text
    assert "Longest monologue 3.5 s 1.5 s" in text
    assert "Overlap: 0.5 s (1×)" in text
    assert "Silence: 1 s, longest 1 s" in text
    assert "estimated" not in text


def test_the_call_page_in_german(measured):
    with measured.store() as store:
        admin = store.users.by_name("admin")
        store.users.set_locale(admin.id, "de")
    try:
        text = metrics_text(measured.login("admin").get(f"/calls/{measured.own_call}").text)
    finally:
        with measured.store() as store:
            store.users.set_locale(admin.id, "en")
    assert "Sprechzeit 6,5 s 1,5 s" in text
    assert "Sprechanteil 81 % 19 %" in text
    assert "Überlappung: 0,5 s (1×)" in text
    assert "Stille: 1 s, längste 1 s" in text


def test_the_json_export_and_the_api_carry_the_metrics_object(measured):
    admin = measured.login("admin")
    exported = json.loads(admin.get(f"/calls/{measured.own_call}/export/json").body)
    answer = admin.get(f"/api/calls/{measured.own_call}")
    assert answer.status == 200
    for metrics in (exported["metrics"], json.loads(answer.body)["metrics"]):
        assert metrics["talk_seconds"] == {"Caller": 6.5, "Agent": 1.5}
        assert metrics["interruptions"] == {"Caller": 0, "Agent": 1}
        assert metrics["longest_monologue_seconds"] == {"Caller": 3.5, "Agent": 1.5}
        assert (metrics["overlap_seconds"], metrics["overlap_count"]) == (0.5, 1)
        assert (metrics["silence_seconds"], metrics["longest_silence_seconds"]) == (1.0, 1.0)
        assert metrics["exact"] is True


def test_the_command_line_shows_the_metrics_in_json(measured):
    shown = json.loads(measured.cli("show", str(measured.own_call), "--format", "json").stdout)
    assert shown["metrics"]["talk_seconds"] == {"Caller": 6.5, "Agent": 1.5}


def test_a_renamed_speaker_keeps_the_figures_under_the_new_name(measured):
    vic = measured.login("vic")
    page = f"/calls/{measured.own_call}"
    assert vic.post(f"{page}/speakers/1", {"label": "Dr. Weber"}, token_from=page).status == 302
    try:
        assert "Caller Dr. Weber" in metrics_text(vic.get(page).text)
        metrics = json.loads(vic.get(f"/api/calls/{measured.own_call}").body)["metrics"]
        assert metrics["talk_seconds"] == {"Caller": 6.5, "Dr. Weber": 1.5}
    finally:
        vic.post(f"{page}/speakers/1", {"label": "Agent"}, token_from=page)


def test_a_call_without_metrics_yet_shows_none_and_says_null(measured):
    admin = measured.login("admin")
    assert '<section class="metrics"' not in admin.get(f"/calls/{measured.other_call}").text
    assert json.loads(admin.get(f"/api/calls/{measured.other_call}").body)["metrics"] is None


def test_an_agent_never_sees_the_metrics_of_a_call_outside_their_scope(measured):
    agent = measured.login("agent")
    assert agent.get(f"/api/calls/{measured.other_call}").status == 404
    assert agent.get(f"/calls/{measured.other_call}/export/json").status == 404
    assert "Talk time" in metrics_text(agent.get(f"/calls/{measured.own_call}").text)


# --- the vCon ------------------------------------------------------------------------------------


def test_the_call_page_offers_the_vcon_and_it_carries_the_call(measured):
    admin = measured.login("admin")
    page = admin.get(f"/calls/{measured.own_call}").text
    assert f'href="/calls/{measured.own_call}/export/vcon"' in page
    answer = admin.get(f"/calls/{measured.own_call}/export/vcon")
    assert answer.status == 200
    assert answer.headers["Content-Type"].startswith("application/vcon")
    assert "attachment" in answer.headers["Content-Disposition"]
    vcon = json.loads(answer.body)
    assert vcon_problems(vcon) == []
    [dialog] = vcon["dialog"]
    # The recording by reference: the audio endpoint, and the hash of exactly what it serves.
    assert dialog["url"].endswith(f"/calls/{measured.own_call}/audio")
    audio = admin.get(f"/calls/{measured.own_call}/audio").body
    assert dialog["content_hash"] == content_hash(audio) and "body" not in dialog
    turns = next(a for a in vcon["analysis"] if a["type"] == "transcript")["body"]["turns"]
    assert [t["text"] for t in turns] == ["good morning this is the clinic", "I would like an appointment"]
    metrics = next(a for a in vcon["analysis"] if a.get("schema") == "call-appliance.metrics.v1")["body"]
    assert metrics["talk_seconds"] == {"Caller": 6.5, "Agent": 1.5}
    assert [p["tel"] for p in vcon["parties"]] == ["201", "+4930111"]


def test_the_vcon_is_the_same_call_from_the_api_and_the_command_line(measured):
    admin = measured.login("admin")
    from_page = json.loads(admin.get(f"/calls/{measured.own_call}/export/vcon").body)
    answer = admin.get(f"/api/calls/{measured.own_call}/vcon")
    assert answer.status == 200 and answer.headers["Content-Type"].startswith("application/vcon")
    from_api = json.loads(answer.body)
    from_cli = json.loads(measured.cli("show", str(measured.own_call), "--format", "vcon").stdout)
    assert from_page == from_api == from_cli  # one uuid per call, one hash of its audio
    other = json.loads(admin.get(f"/api/calls/{measured.other_call}/vcon").body)
    assert other["uuid"] != from_api["uuid"]


def test_asked_for_it_the_vcon_carries_the_recording_inside(measured):
    admin = measured.login("admin")
    vcon = json.loads(admin.get(f"/api/calls/{measured.own_call}/vcon?inline=1").body)
    assert vcon_problems(vcon) == []
    [dialog] = vcon["dialog"]
    assert "url" not in dialog and dialog["encoding"] == "base64url"
    body = dialog["body"]
    assert base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)) == admin.get(
        f"/calls/{measured.own_call}/audio").body
    page = admin.get(f"/calls/{measured.own_call}").text
    assert f'href="/calls/{measured.own_call}/export/vcon?inline=1"' in page


def test_every_vcon_export_is_audited_and_scoped(measured):
    agent = measured.login("agent")
    assert agent.get(f"/api/calls/{measured.other_call}/vcon").status == 404
    assert agent.get(f"/calls/{measured.other_call}/export/vcon").status == 404
    assert agent.get(f"/api/calls/{measured.own_call}/vcon").status == 200
    measured.cli("show", str(measured.own_call), "--format", "vcon", "--inline")
    with measured.store() as store:
        exports = [(e.actor, e.target, e.detail) for e in store.audit.entries(limit=200, action="export")]
    assert ("agent", f"call {measured.own_call}", "vcon (api)") in exports
    assert (None, f"call {measured.own_call}", "vcon, audio inline (command line)") in exports
    assert not any(target == f"call {measured.other_call}" and actor == "agent" for actor, target, _ in exports)


def test_the_vcons_of_a_date_range_are_json_lines_scoped_and_audited(measured):
    answer = measured.login("admin").get("/calls/export.vcon")
    assert answer.status == 200 and answer.headers["Content-Type"].startswith("application/x-ndjson")
    vcons = [json.loads(line) for line in answer.text.splitlines()]
    assert all(vcon_problems(vcon) == [] for vcon in vcons)
    assert len(vcons) == 2  # the own and the other call, both transcribed
    mine = [json.loads(line) for line in measured.login("agent").get("/calls/export.vcon").text.splitlines()]
    assert len(mine) == 1 and "invoice" not in json.dumps(mine)  # the other call's words stay out
    with measured.store() as store:
        ranges = [(e.actor, e.detail) for e in store.audit.entries(limit=200, action="export-range")]
    assert ("admin", "vcon ..") in ranges and ("agent", "vcon ..") in ranges
