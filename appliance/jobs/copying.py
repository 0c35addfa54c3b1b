"""Copying a recording in without ever leaving half a file under its final name."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path


def atomic_copy(source: Path, target: Path) -> Path:
    """Copy `source` to `target` through a temporary name in the same folder, synced to disk and
    renamed: a crash leaves the old state or the whole copy, never a truncated recording that a
    later sweep would queue. Returns the target's absolute path."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, partial = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out, open(source, "rb") as into:
            shutil.copyfileobj(into, out, 1 << 20)
            out.flush()
            os.fsync(out.fileno())
        shutil.copystat(source, partial)
        os.replace(partial, target)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
    directory = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(directory)  # the rename itself survives a power cut
    finally:
        os.close(directory)
    return target.absolute()
