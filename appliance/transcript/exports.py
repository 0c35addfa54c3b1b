"""Transcript exports: JSON (the model itself), plain text, SubRip and WebVTT.

`insights` is the call's stored keywords/summary JSON (appliance.nlp.Insights.to_dict()), when
there is one: JSON carries it whole, text and WebVTT put keywords and summary first. JSON also
carries the call's conversation metrics (appliance.analytics.metrics.public) as `metrics`, and
the PBX's call records of the call (CallRecord.public()) as `call_records`.
"""

from __future__ import annotations

import json

from appliance.transcript.model import Transcript

FORMATS = ("txt", "srt", "vtt", "json")


def _clock(seconds: float, separator: str) -> str:
    millis = int(round(seconds * 1000))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def insight_lines(insights: dict | None, transcript: Transcript) -> list[str]:
    """The "Keywords: …" line and the summary, one "- who: sentence" line each; [] without insights.
    Who is the speaker's name now (renamed, or from the address book), not when it was analysed."""
    if not insights:
        return []
    lines = []
    if insights.get("keywords"):
        lines.append("Keywords: " + ", ".join(insights["keywords"]))
    if insights.get("abstract"):
        lines.append("Summary: " + insights["abstract"])
    elif insights.get("summary"):
        lines.append("Summary:")
        lines += [f"- {_label(transcript, line)}: {line['text']}" for line in insights["summary"]]
    return lines


def _label(transcript: Transcript, line: dict) -> str:
    speaker = line.get("speaker")
    known = {s.index for s in transcript.speakers}
    return transcript.speaker(speaker).label if speaker in known else line["label"]


def to_json(transcript: Transcript, insights: dict | None = None, metrics: dict | None = None,
            records: list[dict] | None = None) -> str:
    data = transcript.to_dict()
    if insights:
        data["insights"] = insights
    if metrics:
        data["metrics"] = metrics
    if records:
        data["call_records"] = records
    return json.dumps(data, ensure_ascii=False, indent=2)


def to_txt(transcript: Transcript, insights: dict | None = None) -> str:
    lines = insight_lines(insights, transcript)
    lines += [""] if lines else []
    for turn in transcript.turns:
        minutes, seconds = divmod(int(turn.start), 60)
        lines.append(f"[{minutes:02d}:{seconds:02d}] {transcript.speaker(turn.speaker).label}: {turn.text}")
    return "\n".join(lines) + ("\n" if lines else "")


def _cue_line(text: str) -> str:
    """One line of cue text: a line break would end the cue early (or start a forged one)."""
    return " ".join(text.split())


def to_srt(transcript: Transcript, insights: dict | None = None) -> str:
    blocks = [
        f"{n}\n{_clock(t.start, ',')} --> {_clock(t.end, ',')}\n"
        f"{_cue_line(transcript.speaker(t.speaker).label + ': ' + t.text).replace('-->', '->')}\n"
        for n, t in enumerate(transcript.turns, start=1)
    ]
    return "\n".join(blocks)


def _vtt_escape(text: str) -> str:
    return _cue_line(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _vtt_voice(label: str) -> str:
    # A label ending in "--" would make "-->" with the tag's ">": its last "-" as a reference.
    escaped = _vtt_escape(label)
    return escaped[:-1] + "&#45;" if escaped.endswith("-") else escaped


def to_vtt(transcript: Transcript, insights: dict | None = None) -> str:
    # WebVTT voice spans (<v Name>) let players show who speaks.
    blocks = [
        f"{_clock(t.start, '.')} --> {_clock(t.end, '.')}\n"
        f"<v {_vtt_voice(transcript.speaker(t.speaker).label)}>{_vtt_escape(t.text)}\n"
        for t in transcript.turns
    ]
    notes = insight_lines(insights, transcript)
    # A NOTE block is WebVTT's comment: players skip it; it must not contain "-->".
    note = "NOTE\n" + "\n".join(notes).replace("-->", "->") + "\n\n" if notes else ""
    return "WEBVTT\n\n" + note + "\n".join(blocks)


def export(transcript: Transcript, fmt: str, insights: dict | None = None, metrics: dict | None = None,
           records: list[dict] | None = None) -> str:
    if fmt == "json":
        return to_json(transcript, insights, metrics, records)
    writers = {"txt": to_txt, "srt": to_srt, "vtt": to_vtt, "json": to_json}
    if fmt not in writers:
        raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return writers[fmt](transcript, insights)
