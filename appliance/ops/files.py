"""Removing the files a deleted call (or its removed audio) leaves on disk."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

from appliance.asterisk.tickets import base_name, ticket_path
from appliance.config import Settings

log = logging.getLogger(__name__)


def cache_path(settings: Settings, call_id: int) -> Path:
    """The call's recording decoded once for browsers (appliance.web.playback)."""
    return settings.data_dir / "cache" / "playback" / f"{int(call_id)}.wav"


def call_files(settings: Settings, call_id: int, paths: Iterable[str]) -> list[Path]:
    """The recording files, their spool tickets (which carry the caller's number) and the
    call's playback copy."""
    spool = settings.spool_dir.resolve()
    found: list[Path] = []
    for path in map(Path, paths):
        found.append(path)
        if path.resolve().is_relative_to(spool):
            found.append(ticket_path(path, base_name(path.stem)))
    found.append(cache_path(settings, call_id))
    return found


def remove(paths: Iterable[Path]) -> list[Path]:
    """Unlink each; returns those that could not be removed (other than already gone)."""
    failed = []
    for path in paths:
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            log.warning("could not remove a file of a deleted call (%s)", type(exc).__name__)
            failed.append(path)
    return failed
