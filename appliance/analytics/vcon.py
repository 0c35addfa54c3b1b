"""A call as a vCon: the IETF conversation container (draft-ietf-vcon-vcon-core, syntax 0.4.0).

- parties: one per speaker, with the number (`tel`), the name it was given and its role
  (caller / callee / speaker; `role` is the contact-centre extension's, hence "CC" in
  `extensions`);
- dialog: one recording, start and duration, a party per channel, referenced by the URL of the
  appliance's audio endpoint with the SHA-512 of exactly those bytes, or inline (base64url)
  when asked;
- analysis: the transcript (turns with speaker, times and words), the summary, the keywords and
  the conversation metrics, each derived from that dialog;
- attachments: none.

The uuid is stable per call: a version 8 UUID as the draft describes it, made like a version 7
from the call's creation time, with the call's number in the 12 free bits and the high 62 bits
of the SHA-1 of the appliance's host name in the last ones. Pure: no I/O.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone

from appliance.nlp import Insights
from appliance.transcript.model import Transcript

VERSION = "0.4.0"
VENDOR = "call-appliance"
_NUMBER_ROLES = {"caller": "caller", "callee": "callee"}


@dataclass(frozen=True)
class Recording:
    """The call's audio as the appliance serves it: where, and the very bytes served there."""

    url: str
    content: bytes
    mediatype: str = "audio/x-wav"
    filename: str | None = None


def call_uuid(call_id: int, created_at: float, host: str) -> str:
    millis = int(created_at * 1000) & (1 << 48) - 1
    host_bits = int.from_bytes(hashlib.sha1(host.encode()).digest()[:8], "big") >> 2
    value = millis << 80 | 8 << 76 | (call_id & 0xFFF) << 64 | 0b10 << 62 | host_bits
    return str(uuid.UUID(int=value))


def rfc3339(value: float | str | None, fallback: float) -> str:
    """A timestamp (epoch seconds or an ISO string; naive means UTC) as RFC 3339 in UTC."""
    when = None
    if isinstance(value, str):
        try:
            when = datetime.fromisoformat(value)
        except ValueError:
            when = None
    elif value is not None:
        when = datetime.fromtimestamp(value, timezone.utc)
    when = when or datetime.fromtimestamp(fallback, timezone.utc)
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def content_hash(content: bytes) -> str:
    digest = hashlib.sha512(content).digest()
    return "sha512-" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _parties(call, transcript: Transcript) -> list[dict]:
    numbers = {"caller": call.caller, "callee": call.callee}
    parties = []
    for speaker in transcript.speakers:
        party: dict = {}
        number = numbers.get(speaker.role) or (call.caller if call.kind in ("voicemail", "note") else None)
        if number:
            party["tel"] = number
        if speaker.label and speaker.label != number:
            party["name"] = speaker.label
        party["role"] = speaker.role
        parties.append(party)
    return parties


def _dialog(call, transcript: Transcript, recording: Recording | None, inline: bool) -> dict:
    dialog = {
        "type": "recording",
        "start": rfc3339(call.started_at, call.created_at),
        "duration": round(float(transcript.duration), 3),
        # Stereo: one party per channel (channel 0 the caller); mono: the parties of the mix.
        "parties": [speaker.index for speaker in transcript.speakers],
    }
    if recording is not None:
        dialog["mediatype"] = recording.mediatype
        if recording.filename:
            dialog["filename"] = recording.filename
        if inline:
            dialog["body"] = base64.urlsafe_b64encode(recording.content).rstrip(b"=").decode()
            dialog["encoding"] = "base64url"
        else:
            dialog["url"] = recording.url
            dialog["content_hash"] = content_hash(recording.content)
    return dialog


def _analysis(kind: str, schema: str, body, product: str | None = None) -> dict:
    entry = {"type": kind, "dialog": 0, "vendor": VENDOR, "schema": schema}
    if product:
        entry["product"] = product
    if isinstance(body, str):
        entry.update(mediatype="text/plain", encoding="none", body=body)
    else:
        entry.update(mediatype="application/json", encoding="json", body=body)
    return entry


def _transcript_body(transcript: Transcript) -> dict:
    """Turns with their party (index into `parties`), times in seconds from the dialog's start."""
    return {
        "language": transcript.language,
        "turns": [
            {"party": turn.speaker, "start": round(turn.start, 3), "end": round(turn.end, 3), "text": turn.text,
             "words": [{"start": round(w.start, 3), "end": round(w.end, 3), "text": w.word.strip(),
                        "confidence": round(w.probability, 3)} for w in turn.words]}
            for turn in transcript.turns
        ],
    }


def to_vcon(call, transcript: Transcript, *, host: str, insights: dict | None = None,
            metrics: dict | None = None, recording: Recording | None = None, inline: bool = False) -> dict:
    """The vCon of one call (`call` a store CallSummary, `metrics` the public metrics object)."""
    analysis = [_analysis("transcript", "call-appliance.transcript.v1", _transcript_body(transcript),
                          f"{transcript.engine} {transcript.model}")]
    if insights:
        found = Insights.from_dict(insights)
        if found.summary_text:
            analysis.append(_analysis("summary", "call-appliance.summary.v1", found.summary_text, found.summariser))
        if found.keywords:
            analysis.append(_analysis("report", "call-appliance.keywords.v1", list(found.keywords)))
    if metrics:
        analysis.append(_analysis("report", "call-appliance.metrics.v1", metrics))
    return {
        "vcon": VERSION,
        "uuid": call_uuid(call.id, call.created_at, host),
        "extensions": ["CC"],
        "created_at": rfc3339(call.created_at, call.created_at),
        "parties": _parties(call, transcript),
        "dialog": [_dialog(call, transcript, recording, inline)],
        "analysis": analysis,
        "attachments": [],
    }
