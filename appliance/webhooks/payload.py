"""The JSON a webhook receives: the fields the admin chose, from the stored call. Never audio:
no field can carry it, and the recording's path is not sent either."""

from __future__ import annotations

import time
from datetime import tzinfo

from appliance.transcript.times import iso

# "alerts" also opts the webhook in to phrase alerts (event "phrase.alert", appliance/store/alerts.py).
FIELDS = ("call", "keywords", "summary", "entities", "transcript", "link", "alerts")
DEFAULT_FIELDS = ("call", "keywords", "summary", "entities", "link")


def _call(call, transcript, zone) -> dict:
    return {
        "id": call.id,
        "uniqueid": call.uniqueid,
        "caller": call.caller,
        "callee": call.callee,
        "direction": call.direction,
        "started_at": iso(call.started_at, zone),
        "kind": call.kind,
        "duration": transcript.duration if transcript else call.duration,
        "language": transcript.language if transcript else call.language,
        "speakers": [{"label": s.label, "role": s.role} for s in transcript.speakers] if transcript else [],
    }


def build(call, transcript, insights: dict | None, fields, link: str, zone: tzinfo, event: str = "call.done",
          alerts=()) -> dict:
    """`insights` is the stored Insights JSON; `link` the call's page in the UI; times are
    ISO 8601 in `zone` (the site's), with the offset; `alerts` the call's phrase hits."""
    insights = insights or {}
    body: dict = {"event": event, "call_id": call.id, "sent_at": round(time.time(), 3)}
    if "call" in fields:
        body["call"] = _call(call, transcript, zone)
    if "keywords" in fields:
        body["keywords"] = list(insights.get("keywords", ()))
    if "summary" in fields:
        body["summary"] = {
            "text": insights.get("abstract") or " ".join(line["text"] for line in insights.get("summary", ())),
            "lines": [
                {"speaker": line["label"], "text": line["text"], "request": line["request"], "start": line["start"]}
                for line in insights.get("summary", ())
            ],
        }
    if "entities" in fields:
        body["entities"] = [{"kind": e["kind"], "value": e["value"], "start": e["start"]}
                            for e in insights.get("entities", ())]
    if "transcript" in fields and transcript is not None:
        body["transcript"] = [
            {"speaker": transcript.speaker(t.speaker).label, "start": t.start, "end": t.end, "text": t.text}
            for t in transcript.turns
        ]
    if "alerts" in fields:
        speakers = {s.index: s.label for s in transcript.speakers} if transcript else {}
        body["alerts"] = [{"phrase": hit.phrase, "speaker": speakers.get(hit.speaker, hit.speaker),
                           "start": hit.at_seconds} for hit in alerts]
    if "link" in fields:
        body["link"] = link
    return body


def test_body(fields) -> dict:
    """What the test button sends: the chosen fields' shape, no real call."""
    body: dict = {"event": "test", "call_id": None, "sent_at": round(time.time(), 3)}
    samples = {
        "call": {"id": None, "caller": "+49 30 1234567", "callee": "200", "direction": "inbound",
                 "kind": "call", "duration": 42.0, "language": "en", "speakers": []},
        "keywords": ["test"],
        "summary": {"text": "A test from the call appliance.", "lines": []},
        "entities": [],
        "transcript": [],
        "link": None,
        "alerts": [],
    }
    body.update({field: samples[field] for field in fields if field in samples})
    return body
