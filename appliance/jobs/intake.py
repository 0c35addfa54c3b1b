"""Recordings in: every source (`appliance ingest`, the demo call, the spool sweep, the
voicemail scan, the FreePBX import, PBX uploads) queues through here, and a file copied in is
never left half-written under its final name.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from appliance import filemodes
from appliance.store import EnqueueResult, Store
from appliance.transcript.model import CallMeta


def take_in(store: Store, meta: CallMeta, files: Sequence[Path], options: dict | None = None, *,
            copies: Sequence[Path] | None = None) -> EnqueueResult:
    """Queue one recording (a file, or the two of an r/t pair).

    With `copies` (a target per file) each file is copied there first, so the original may be
    moved or deleted (an imported file, a message its owner deletes from the phone); a copy
    already there is whole (atomic_copy) and kept. Without, the files are queued where they
    lie, in the appliance's own folders (the spool, the demo folder).
    """
    if copies is not None:
        files = [target if target.exists() else atomic_copy(source, target)
                 for source, target in zip(files, copies, strict=True)]
    return store.intake.enqueue(meta, [Path(path).resolve() for path in files], options)


def atomic_copy(source: Path, target: Path) -> Path:
    """Copy `source` to `target` through a temporary name in the same folder, synced to disk and
    renamed: a crash leaves the old state or the whole copy, never a truncated recording that a
    later sweep would queue. Returns the target's absolute path."""
    filemodes.folder(target.parent)
    fd, partial = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out, open(source, "rb") as into:
            shutil.copyfileobj(into, out, 1 << 20)
        shutil.copystat(source, partial)
        filemodes.narrow(Path(partial), filemodes.RECORDING)  # not the source's (a spool's) wider mode
        synced_rename(Path(partial), target)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
    return target.absolute()


def synced_rename(partial: Path, target: Path) -> None:
    """Give a complete file written under a temporary name in target's file system its final
    name, its bytes and the rename both on disk before this returns (a power cut keeps one or
    the other, whole)."""
    with open(partial, "rb+") as written:
        os.fsync(written.fileno())
    filemodes.folder(target.parent)
    os.replace(partial, target)
    directory = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
