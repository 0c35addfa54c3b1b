"""DOCX export: the conversation as a Word document (python-docx, imported only here)."""

from __future__ import annotations

import io
import re

from appliance.transcript.exports import insight_lines
from appliance.transcript.model import Transcript


# XML 1.0 allows no control characters but tab and line breaks, nor lone surrogates or U+FFFE/F:
# a caller id or speaker name carrying one would make the document unwritable.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_text(text: str) -> str:
    return _NOT_XML.sub("", text)


def to_docx(transcript: Transcript, insights: dict | None = None) -> bytes:
    from docx import Document

    document = Document()
    meta = transcript.meta
    document.add_heading(_xml_text(f"{meta.caller or '?'} → {meta.callee or '?'}"), level=1)
    details = [meta.started_at or "", f"{transcript.duration:.0f} s", transcript.language, transcript.model]
    document.add_paragraph(_xml_text(" · ".join(d for d in details if d)))
    for line in insight_lines(insights, transcript):
        document.add_paragraph(_xml_text(line))
    for turn in transcript.turns:
        paragraph = document.add_paragraph()
        minutes, seconds = divmod(int(turn.start), 60)
        label = _xml_text(transcript.speaker(turn.speaker).label)
        paragraph.add_run(f"[{minutes:02d}:{seconds:02d}] {label}: ").bold = True
        paragraph.add_run(_xml_text(turn.text))
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
