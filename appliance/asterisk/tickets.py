"""The names Asterisk's hand-off (asterisk-config/appliance-hook.sh) gives what it drops into
the spool: MixMonitor r()/t() halves `<base>-rx.<ext>` and `<base>-tx.<ext>`, and beside a
recording the ticket `<base>.json` that carries its call metadata. The spool sweep reads them;
erasure removes them with the call."""

from __future__ import annotations

import re
from pathlib import Path

PAIR = re.compile(r"^(?P<base>.+)-(?P<dir>rx|tx)$")


def base_name(stem: str) -> str:
    """The call's name shared by both halves of an r()/t() pair and their ticket."""
    pair = PAIR.match(stem)
    return pair["base"] if pair else stem


def ticket_path(recording: Path, base: str) -> Path:
    return recording.with_name(f"{base}.json")
