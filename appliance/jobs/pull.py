"""The pull mode: the box fetches a PBX's recording tree over ssh (rsync), for sites that prefer
the box to fetch rather than the PBX to upload (appliance/jobs/upload.py).

rsync only reads on the PBX (it never deletes or writes there; docs/remote-asterisk.md shows how
to pin the key to a read-only rsync). Each pull lists the remote tree (names, sizes, times) and
fetches only the recordings that are complete (unchanged for `spool_settle_seconds`, as in a
FreePBX tree on this box: appliance/jobs/freepbx.py) and not taken before, into a staging folder;
each is then moved (renamed, never copied) into `data_dir/imports/pull/` and queued. So a
recording lies on this box once, where retention and erasure remove it, and the store remembers
its path in the tree (not how pbx_pull_from spells the tree's place: a switch to rrsync's `host:/`
fetches nothing twice): a recording erased here is not fetched again, though the PBX still has it.
The host key is checked against `pbx_pull_known_hosts`: never accepted blindly.
"""

from __future__ import annotations

import calendar
import fcntl
import logging
import os
import re
import shlex
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from appliance import filemodes
from appliance.config import Settings
from appliance.errors import ApplianceError, ConfigError
from appliance.jobs.freepbx import SOURCE as FREEPBX, call_meta, in_window, is_dated, scan_since, tree_path
from appliance.jobs.intake import synced_rename
from appliance.store import Store

log = logging.getLogger(__name__)

SYSTEM = "pull"
PULL_TIMEOUT_SECONDS = 3600  # a first pull of a large tree takes a while; a hung one does not stay
# rsync's exit statuses for a run that did what it could: 23 (a file the PBX does not let us
# read), 24 (a file that vanished meanwhile). What arrived is checked file by file.
_PARTIAL = {23, 24}
# One entry of `rsync --list-only`: mode, size, date and time (in TZ, which we set to UTC), name.
_ENTRY = re.compile(rb"^(?P<mode>\S+) +(?P<size>[\d,]+) (?P<when>\d{4}/\d\d/\d\d \d\d:\d\d:\d\d) (?P<name>.+)$")
# rsync prints a byte it will not show (a newline in a name, a backslash before '#') as \#ooo.
_ESCAPE = re.compile(rb"\\#([0-7]{3})")


@dataclass(frozen=True)
class RemoteFile:
    """A regular file of the PBX's tree as the listing shows it."""

    relative: PurePosixPath  # below the pulled folder
    size: int
    mtime: int  # whole seconds, as rsync lists it


def pull(store: Store, settings: Settings) -> list[int]:
    """Fetch what is new and complete on the PBX and queue it; the ids of the calls queued."""
    _check(settings)
    folder = settings.data_dir / "pull"
    filemodes.folder(folder)
    with open(folder / ".lock", "w") as lock:
        # The worker's pull and `appliance pbx pull` share the staging folder: one at a time.
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ApplianceError("another pull from the PBX is running; try again when it is done") from None
        return _pull(store, settings, folder / "staging")


def _pull(store: Store, settings: Settings, staging: Path) -> list[int]:
    root = settings.pbx_pull_from.rstrip("/") + "/"
    _drop_mirror(store, settings)
    now = time.time()
    listing = _listing(settings, root)
    since, dated = scan_since(settings, now), is_dated(f.relative.parts[0] for f in listing)
    wanted = [f for f in listing
              if in_window(f.relative, since, dated) and now - f.mtime >= settings.spool_settle_seconds
              and not store.intake.was_imported(SYSTEM, str(f.relative))]
    shutil.rmtree(staging, ignore_errors=True)  # what an interrupted pull left: never imported
    if not wanted:
        return []
    filemodes.folder(staging)
    try:
        _fetch(settings, root, wanted, staging)
        queued = [call_id for f in wanted if (call_id := _take(store, settings, f, staging)) is not None]
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if queued:
        log.info("pull: %d recording(s) queued", len(queued))
    return queued


def _check(settings: Settings) -> None:
    if not settings.pbx_pull_from:
        raise ConfigError("set pbx_pull_from to the PBX's recording folder (user@host:/var/spool/asterisk/monitor)")
    for name in ("pbx_pull_key", "pbx_pull_known_hosts"):
        if getattr(settings, name) is None or not getattr(settings, name).is_file():
            raise ConfigError(f"setting {name!r}: no such file ({getattr(settings, name)})")


def _rsync(settings: Settings, arguments: list[str], files: bytes | None = None) -> bytes:
    """Run rsync over the pinned ssh; its output. `files`: the NUL-separated names to fetch."""
    ssh = ["ssh", "-i", str(settings.pbx_pull_key), "-p", str(settings.pbx_pull_port), "-o", "BatchMode=yes",
           "-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=yes",
           "-o", f"UserKnownHostsFile={settings.pbx_pull_known_hosts}", "-o", "ConnectTimeout=20"]
    # No --protect-args: rrsync refuses it. File names never are arguments (see _fetch).
    command = ["rsync", "--timeout=120", "-e", shlex.join(ssh), *arguments]
    try:
        done = subprocess.run(command, input=files, capture_output=True, timeout=PULL_TIMEOUT_SECONDS,
                              env={**os.environ, "TZ": "UTC"})
    except subprocess.TimeoutExpired:
        raise ApplianceError(f"the pull from {settings.pbx_pull_from} took over {PULL_TIMEOUT_SECONDS} s") from None
    stderr = done.stderr.decode(errors="replace")
    if done.returncode in _PARTIAL:
        log.warning("pull: rsync could not read every file (exit status %d)", done.returncode)
    elif done.returncode != 0:
        # ssh's last words ("Host key verification failed."), not rsync's "connection unexpectedly closed" after them or a banner of @s.
        lines = [line for line in stderr.splitlines() if line.strip() and not line.startswith(("rsync", "@"))]
        reason = (lines or stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        raise ApplianceError(f"the pull from {settings.pbx_pull_from} failed: {reason}")
    return done.stdout


def _listing(settings: Settings, root: str) -> list[RemoteFile]:
    """The regular files of the PBX's tree; names that are not UTF-8, or that would lead out of
    the tree, are left there (counted in the log, never named: FreePBX's names carry numbers)."""
    out = _rsync(settings, ["--list-only", "--recursive", "--no-human-readable", "--8-bit-output", root])
    files, skipped = [], 0
    for line in out.split(b"\n"):
        entry = _ENTRY.match(line)
        if not entry or not entry["mode"].startswith(b"-"):
            continue  # a folder, a link, a device
        relative = tree_path(_ESCAPE.sub(lambda m: bytes([int(m[1], 8)]), entry["name"]))
        if relative is None:
            skipped += 1
            continue
        when = calendar.timegm(time.strptime(entry["when"].decode(), "%Y/%m/%d %H:%M:%S"))
        files.append(RemoteFile(relative, int(entry["size"].replace(b",", b"")), when))
    if skipped:
        log.warning("pull: %d file(s) with a name this box does not take left on the PBX", skipped)
    return files


def _fetch(settings: Settings, root: str, files: list[RemoteFile], staging: Path) -> None:
    """Fetch just these files, with their times, into `staging` (names via stdin, NUL-separated:
    a name with a newline or a leading dash is a name, never an option)."""
    names = b"".join(str(f.relative).encode() + b"\0" for f in files)
    _rsync(settings, ["--files-from=-", "--from0", "--times", "--chmod=D700,F600", root, f"{staging}/"], names)


def _take(store: Store, settings: Settings, remote: RemoteFile, staging: Path) -> int | None:
    """Move a fetched file into the imports and queue it; None when it did not arrive as listed
    (gone since, or grown: still being written, so fetched again once complete)."""
    staged = staging / remote.relative
    try:
        stat = staged.stat()
    except FileNotFoundError:
        return None
    if (stat.st_size, int(stat.st_mtime)) != (remote.size, remote.mtime):
        return None
    target = settings.data_dir / "imports" / SYSTEM / remote.relative
    filemodes.narrow(staged, filemodes.RECORDING)
    synced_rename(staged, target)  # a crash before the queueing below: fetched again, renamed over it
    try:
        result = store.intake.enqueue_import(SYSTEM, str(remote.relative), call_meta(remote.relative.stem, settings),
                                             [target], {})
    except BaseException:
        target.unlink(missing_ok=True)  # not queued: no file that no job points to
        raise
    if not result.created:
        return None
    log.info("pull: queued job %d", result.job_id)
    return result.call_id


def _drop_mirror(store: Store, settings: Settings) -> None:
    """Once, after an update: the full mirror earlier versions kept in `data_dir/pull/monitor/`
    (the imports were copies of it) goes, erased recordings with it; what was imported from it
    stays known by its path in the tree, so it is not fetched again."""
    mirror = settings.data_dir / "pull" / "monitor"
    if mirror.is_dir():
        store.intake.rename_sources(FREEPBX, f"{mirror.resolve()}/", SYSTEM, "")
        shutil.rmtree(mirror)
