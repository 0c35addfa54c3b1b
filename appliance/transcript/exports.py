"""Transcript exports: JSON (the model itself), plain text, SubRip and WebVTT."""

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


def to_json(transcript: Transcript) -> str:
    return json.dumps(transcript.to_dict(), ensure_ascii=False, indent=2)


def to_txt(transcript: Transcript) -> str:
    lines = []
    for turn in transcript.turns:
        minutes, seconds = divmod(int(turn.start), 60)
        lines.append(f"[{minutes:02d}:{seconds:02d}] {transcript.speaker(turn.speaker).label}: {turn.text}")
    return "\n".join(lines) + ("\n" if lines else "")


def to_srt(transcript: Transcript) -> str:
    blocks = [
        f"{n}\n{_clock(t.start, ',')} --> {_clock(t.end, ',')}\n{transcript.speaker(t.speaker).label}: {t.text}\n"
        for n, t in enumerate(transcript.turns, start=1)
    ]
    return "\n".join(blocks)


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_vtt(transcript: Transcript) -> str:
    # WebVTT voice spans (<v Name>) let players show who speaks.
    blocks = [
        f"{_clock(t.start, '.')} --> {_clock(t.end, '.')}\n"
        f"<v {_vtt_escape(transcript.speaker(t.speaker).label)}>{_vtt_escape(t.text)}\n"
        for t in transcript.turns
    ]
    return "WEBVTT\n\n" + "\n".join(blocks)


def export(transcript: Transcript, fmt: str) -> str:
    writers = {"txt": to_txt, "srt": to_srt, "vtt": to_vtt, "json": to_json}
    if fmt not in writers:
        raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return writers[fmt](transcript)
