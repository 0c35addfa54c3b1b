"""FreePBX's recordings: its monitor tree read as it is, each finished file copied in and queued once.

FreePBX records every call into `/var/spool/asterisk/monitor/YYYY/MM/DD/` under a name that
carries the call's metadata, `<kind>-<to>-<from>-<YYYYMMDD>-<HHMMSS>-<uniqueid>.<ext>`:

  in-200-+4930123456-20261202-091502-1733130902.123.wav     an inbound call to 200
  out-+4930999-201-...       a call extension 201 placed       q-400-...   a queue call
  exten-201-202-... / internal-201-202-...  extension 202 called 201   rg-600-...  a ring group
  external-... / ondemand-... / force-...   as FreePBX names its other recording reasons

The tree is the PBX's: nothing there is changed or deleted. A finished file (unchanged for
`spool_settle_seconds`) is copied atomically into `data_dir/imports/freepbx/` (retention and
erasure act on the copy) and queued; the store remembers the source, so a file is imported
once even after its call was deleted here. Names that do not parse are imported too, with the
file name as the uniqueid: a recording is never ignored for its name, unless the store cannot
keep it (not UTF-8) or it leads out of the tree (a link): then it stays there, counted in the log.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Iterable
from datetime import date, datetime, timedelta, timezone
from pathlib import Path, PurePath, PurePosixPath
from zoneinfo import ZoneInfo

from appliance.config import Settings, zone_named
from appliance.jobs.intake import atomic_copy
from appliance.jobs.spool import AUDIO_SUFFIX
from appliance.store import Store
from appliance.transcript.model import CallMeta

log = logging.getLogger(__name__)

SOURCE = "freepbx"
# kind -> direction; the name's first party is the one called, the second the one calling.
KINDS = {"in": "inbound", "q": "inbound", "rg": "inbound", "external": "inbound", "out": "outbound",
         "exten": "internal", "internal": "internal", "ondemand": None, "force": None}
_NAME = re.compile(
    r"^(?P<kind>" + "|".join(KINDS) + r")-(?P<to>[^-]*)-(?P<from>.*)-(?P<day>\d{8})-(?P<time>\d{6})"
    r"-(?P<uniqueid>\d+\.\d+)$"
)
# Asterisk's uniqueid starts with the epoch of the channel's creation; trusted when it lies
# within a day of the name's local date and time (a PBX clock and zone we do not know).
_EPOCH_SLACK = timedelta(days=1)


def parse_name(stem: str, zone: ZoneInfo | timezone = timezone.utc) -> CallMeta | None:
    """The call a FreePBX recording name describes, or None for a name FreePBX did not make."""
    match = _NAME.match(stem)
    if not match:
        return None
    try:
        local = datetime.strptime(match["day"] + match["time"], "%Y%m%d%H%M%S").replace(tzinfo=zone)
    except ValueError:
        return None
    started = local
    epoch = datetime.fromtimestamp(int(match["uniqueid"].split(".")[0]), timezone.utc)
    if abs(epoch - local) <= _EPOCH_SLACK:
        started = epoch
    return CallMeta(
        uniqueid=match["uniqueid"],
        caller=match["from"] or None,
        callee=match["to"] or None,
        direction=KINDS[match["kind"]],
        started_at=started.astimezone(timezone.utc).isoformat(timespec="seconds"),
    )


def _zone(settings: Settings) -> ZoneInfo:
    # A named zone, so a July name gets summer time even when the import runs in December.
    return zone_named(settings.freepbx_timezone) if settings.freepbx_timezone else settings.zone


def call_meta(stem: str, settings: Settings) -> CallMeta:
    """The call a recording's name describes; a name FreePBX did not make is the uniqueid."""
    return parse_name(stem, _zone(settings)) or CallMeta(uniqueid=f"{SOURCE}-{stem}")


def scan_since(settings: Settings, now: float) -> date:
    """The first day an import reads: `freepbx_scan_days` back."""
    return (datetime.fromtimestamp(now, timezone.utc) - timedelta(days=settings.freepbx_scan_days)).date()


def is_recording(name: str) -> bool:
    """An audio file's name, not a hidden one (a file being written under a temporary name)."""
    return not name.startswith(".") and AUDIO_SUFFIX.match(PurePath(name).suffix) is not None


def tree_path(name: bytes) -> PurePosixPath | None:
    """A file's path below a tree as this box keeps it, or None for one left in the tree: a
    name that is not UTF-8 (the store keeps text) or that would lead out of the tree."""
    try:
        text = name.decode()
    except UnicodeDecodeError:
        return None
    relative = PurePosixPath(text)
    if relative.is_absolute() or ".." in relative.parts or str(relative) != text:
        return None
    return relative


def _day(year: str, month: str, day: str) -> date | None:
    if not all(part.isascii() and part.isdigit() for part in (year, month, day)) or len(year) != 4:
        return None
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        return None


def is_dated(top_names: Iterable[str]) -> bool:
    """Whether a tree has FreePBX's YYYY/MM/DD folders (then only those are read), going by
    the names at its top."""
    return any(len(name) == 4 and name.isascii() and name.isdigit() for name in top_names)


def in_window(relative: PurePath, since: date, dated: bool) -> bool:
    """Whether the import reads a file at `relative` in a tree: a recording in a YYYY/MM/DD
    folder from `since` on, or at the top of a tree without dates."""
    if not is_recording(relative.name):
        return False
    if not dated:
        return len(relative.parts) == 1
    day = _day(*relative.parts[:3]) if len(relative.parts) == 4 else None
    return day is not None and day >= since


def _day_folders(root: Path, since: date) -> list[Path]:
    """YYYY/MM/DD folders from `since` on; FreePBX's tree without dates is read whole."""
    days = []
    for folder in sorted(root.glob("[0-9][0-9][0-9][0-9]/[0-9][0-9]/[0-9][0-9]")):
        day = _day(folder.parent.parent.name, folder.parent.name, folder.name)
        if day is not None and day >= since:
            days.append(folder)
    return days or ([root] if not is_dated(path.name for path in root.iterdir()) else [])


def finished_recordings(root: Path, since: date, settle_seconds: float, now: float) -> list[Path]:
    """Audio files of the tree from `since` on that have not changed for the settle time."""
    found = []
    for folder in _day_folders(root, since):
        for path in sorted(folder.iterdir()):
            if path.is_file() and is_recording(path.name) and now - path.stat().st_mtime >= settle_seconds:
                found.append(path)
    return found


def import_tree(store: Store, settings: Settings, since: date | None = None, now: float | None = None) -> list[int]:
    """Import what is new in the monitor tree; the ids of the calls it queued."""
    root = settings.freepbx_monitor_dir
    if root is None or not root.is_dir():
        return []
    now = time.time() if now is None else now
    since = since or scan_since(settings, now)
    queued, skipped = [], 0
    for path in finished_recordings(root, since, settings.spool_settle_seconds, now):
        resolved = path.resolve()
        relative = tree_path(os.fsencode(os.path.relpath(resolved, root.resolve())))
        if relative is None:
            skipped += 1
            continue
        source = str(resolved)
        if store.intake.was_imported(SOURCE, source):
            continue
        try:
            copy = atomic_copy(path, settings.data_dir / "imports" / SOURCE / relative)
        except FileNotFoundError:
            continue  # FreePBX's own clean-up took it since the listing: nothing left to import
        result = store.intake.enqueue_import(SOURCE, source, call_meta(relative.stem, settings), [copy], {})
        if result.created:
            log.info("freepbx: queued job %d", result.job_id)
            queued.append(result.call_id)
    if skipped:
        # Counted, never named: FreePBX's names carry numbers.
        log.warning("freepbx: %d file(s) with a name this box does not take left in the tree", skipped)
    return queued
