"""Asterisk's voicemail messages as app_voicemail writes them: `msgNNNN.wav` and `msgNNNN.txt`
(its metadata) under `<voicemail_dir>/<context>/<mailbox>/<folder>/`. appliance.jobs.voicemail
queues them.
"""

from __future__ import annotations

import configparser
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

FOLDERS = ("INBOX", "Old", "Urgent")
_NUMBER = re.compile(r"<([^>]*)>")


@dataclass(frozen=True)
class Message:
    mailbox: str
    msg_id: str
    audio: Path
    caller: str | None
    started_at: str | None


def _caller(callerid: str) -> str | None:
    match = _NUMBER.search(callerid)
    number = (match.group(1) if match else callerid).strip().strip('"')
    return number or None


def read_message(info: Path) -> Message | None:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        parser.read_string(info.read_text(errors="replace"))
        fields = parser["message"]
    except (OSError, configparser.Error, KeyError):
        return None
    audio = info.with_suffix(".wav")
    mailbox = info.parent.parent.name
    origtime = fields.get("origtime", "")
    return Message(
        mailbox=mailbox,
        msg_id=re.sub(r"[^\w-]", "_", fields.get("msg_id") or f"{mailbox}-{origtime}-{info.stem}"),
        audio=audio,
        caller=_caller(fields.get("callerid", "")),
        started_at=datetime.fromtimestamp(int(origtime), timezone.utc).isoformat(timespec="seconds")
        if origtime.isdigit() else None,
    )
