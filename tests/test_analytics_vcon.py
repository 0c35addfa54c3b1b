"""A call as a vCon, built from the store's records: the draft's required members, the transcript,
the metrics, a stable uuid, the recording referenced or inline. (The served pages and the API's
vCon: tests/test_analytics_web.py.)"""

import base64
import hashlib
import json
import uuid

from appliance.analytics.metrics import compute, public
from appliance.analytics.vcon import Recording, call_uuid, content_hash, to_vcon
from appliance.transcript.model import CallMeta, Speaker
from vcon_check import vcon_problems
from support.web import recorded_call, talk, write_wav

META = CallMeta(uniqueid="vcon-1", caller="+4930111", callee="201", direction="inbound",
                started_at="2026-05-02T10:00:00+02:00")
AUDIO = b"RIFF....WAVEfmt fake audio bytes"


def a_call(store, tmp_path, meta=META, lines=((0, "good morning is this the clinic?"), (1, "yes how can I help"))):
    done = recorded_call(store, [write_wav(tmp_path / f"{meta.uniqueid}.wav", 2.0)], meta, talk(list(lines)))
    return store.calls.get(done.call_id), store.transcripts.get(done.call_id)


def test_a_call_becomes_a_vcon_with_every_required_member(store, tmp_path):
    call, transcript = a_call(store, tmp_path)
    metrics = public(compute([[(0.0, 1.5)], [(2.0, 3.5)]], ["", ""], exact=True), ["Caller", "Agent"])
    insights = {"keywords": ["appointment", "clinic"], "summary": [], "abstract": "The caller asks for the clinic."}
    recording = Recording(url="http://box:8080/calls/1/audio", content=AUDIO)
    vcon = json.loads(json.dumps(to_vcon(call, transcript, host="box", insights=insights, metrics=metrics,
                                         recording=recording)))
    assert vcon_problems(vcon) == []
    assert vcon["vcon"] == "0.4.0" and vcon["attachments"] == []
    assert vcon["parties"] == [{"tel": "+4930111", "name": "Caller", "role": "caller"},
                               {"tel": "201", "name": "Agent", "role": "callee"}]
    [dialog] = vcon["dialog"]
    assert dialog["type"] == "recording" and dialog["parties"] == [0, 1]
    assert dialog["start"] == "2026-05-02T08:00:00.000Z"
    assert dialog["duration"] == transcript.duration
    assert dialog["url"] == recording.url and dialog["mediatype"] == "audio/x-wav"
    expected = "sha512-" + base64.urlsafe_b64encode(hashlib.sha512(AUDIO).digest()).decode().rstrip("=")
    assert dialog["content_hash"] == expected and "body" not in dialog
    kinds = {(a["type"], a["schema"]): a for a in vcon["analysis"]}
    turns = kinds["transcript", "call-appliance.transcript.v1"]["body"]["turns"]
    assert [(t["party"], t["text"]) for t in turns] == [(0, "good morning is this the clinic?"),
                                                        (1, "yes how can I help")]
    assert turns[0]["start"] == 0.0 and turns[0]["end"] == 1.5 and turns[0]["words"][0]["text"] == "good"
    assert kinds["summary", "call-appliance.summary.v1"]["body"] == "The caller asks for the clinic."
    assert kinds["report", "call-appliance.keywords.v1"]["body"] == ["appointment", "clinic"]
    assert kinds["report", "call-appliance.metrics.v1"]["body"]["talk_seconds"] == {"Caller": 1.5, "Agent": 1.5}
    assert all(a["dialog"] == 0 and a["vendor"] for a in vcon["analysis"])


def test_asked_for_it_the_recording_travels_inside(store, tmp_path):
    call, transcript = a_call(store, tmp_path)
    vcon = to_vcon(call, transcript, host="box", recording=Recording("http://box/calls/1/audio", AUDIO), inline=True)
    assert vcon_problems(vcon) == []
    [dialog] = vcon["dialog"]
    assert "url" not in dialog and dialog["encoding"] == "base64url"
    assert base64.urlsafe_b64decode(dialog["body"] + "=" * (-len(dialog["body"]) % 4)) == AUDIO


def test_the_uuid_is_stable_per_call_and_unique_between_calls(store, tmp_path):
    call, transcript = a_call(store, tmp_path)
    other, _ = a_call(store, tmp_path, CallMeta(uniqueid="vcon-2", caller="+4930222", callee="202"))
    first = to_vcon(call, transcript, host="box.example")["uuid"]
    assert to_vcon(store.calls.get(call.id), store.transcripts.get(call.id), host="box.example")["uuid"] == first
    assert to_vcon(other, transcript, host="box.example")["uuid"] != first
    parsed = uuid.UUID(first)
    assert parsed.version == 8 and parsed.variant == uuid.RFC_4122
    # Same millisecond, neighbouring calls: still apart.
    assert call_uuid(7, 1.0e9, "box") != call_uuid(8, 1.0e9, "box")
    # Time-ordered like a version 7: a later call sorts after.
    assert call_uuid(1, 1.0e9, "box") < call_uuid(2, 1.0e9 + 1, "box")


def test_a_voicemail_without_its_audio_is_still_a_valid_vcon(store, tmp_path):
    meta = CallMeta(uniqueid="vm-1", caller="+4930333", callee="201", kind="voicemail")
    done = recorded_call(store, [tmp_path / "gone.wav"], meta, talk([(0, "please call me back")]),
                         speakers=(Speaker(0, "+4930333", "speaker"),))
    vcon = to_vcon(store.calls.get(done.call_id), store.transcripts.get(done.call_id), host="box")
    # The dialog says it happened (start, duration, who); the transcript still carries the words.
    assert vcon_problems(vcon) == []
    assert "url" not in vcon["dialog"][0] and "body" not in vcon["dialog"][0]
    assert vcon["parties"] == [{"tel": "+4930333", "role": "speaker"}]


def test_the_check_finds_what_the_draft_requires():
    assert "uuid missing or not a UUID" in vcon_problems({"created_at": "2026-01-01T00:00:00Z"})
    assert "created_at missing or not an RFC 3339 date" in vcon_problems({"uuid": str(uuid.uuid4())})
    broken = {"uuid": str(uuid.uuid4()), "created_at": "2026-01-01T00:00:00Z", "parties": [{}],
              "dialog": [{"type": "recording", "start": "yesterday", "parties": [3], "url": "http://x"}],
              "analysis": [{"type": "transcript", "dialog": 2, "body": "x"}]}
    problems = vcon_problems(broken)
    for expected in ("dialog[0].start missing or not an RFC 3339 date",
                     "dialog[0].parties missing or not indices into parties",
                     "dialog[0]: url needs content_hash as 'algorithm-base64url'",
                     "analysis[0].vendor missing or not a string",
                     "analysis[0].dialog must index the dialog array",
                     "analysis[0]: inline body needs encoding one of ['base64url', 'json', 'none']"):
        assert expected in problems, problems
    assert content_hash(b"") == "sha512-" + base64.urlsafe_b64encode(hashlib.sha512(b"").digest()).decode().rstrip("=")
