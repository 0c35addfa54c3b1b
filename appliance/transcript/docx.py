"""DOCX export: the conversation as a Word document (python-docx, imported only here)."""

from __future__ import annotations

import io

from appliance.transcript.exports import insight_lines
from appliance.transcript.model import Transcript


def to_docx(transcript: Transcript, insights: dict | None = None) -> bytes:
    from docx import Document

    document = Document()
    meta = transcript.meta
    document.add_heading(f"{meta.caller or '?'} → {meta.callee or '?'}", level=1)
    details = [meta.started_at or "", f"{transcript.duration:.0f} s", transcript.language, transcript.model]
    document.add_paragraph(" · ".join(d for d in details if d))
    for line in insight_lines(insights):
        document.add_paragraph(line)
    for turn in transcript.turns:
        paragraph = document.add_paragraph()
        minutes, seconds = divmod(int(turn.start), 60)
        paragraph.add_run(f"[{minutes:02d}:{seconds:02d}] {transcript.speaker(turn.speaker).label}: ").bold = True
        paragraph.add_run(turn.text)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
