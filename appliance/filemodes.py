"""Who may read the box's files: the service's user (and its group for folders), nobody else.

Recordings and the database hold what callers said: the database and its -wal/-shm are 0600,
the data and recording folders 0750, recordings 0640 at most, backups 0600 in a 0700 folder.
Created that way (whatever the process's umask) and narrowed where an older install left them
wider, never widened.
"""

from __future__ import annotations

import os
from pathlib import Path

FOLDER = 0o750
DATABASE = 0o600
RECORDING = 0o640
BACKUP_FILE = 0o600
BACKUP_FOLDER = 0o700


def narrow(path: Path, mode: int) -> None:
    """Take away every permission of `path` beyond `mode` (nothing when it is absent)."""
    try:
        current = path.stat().st_mode & 0o777
    except FileNotFoundError:
        return
    if current & ~mode:
        os.chmod(path, current & mode)


def folder(path: Path, mode: int = FOLDER) -> Path:
    """`path` and its missing parents created with `mode`; `path` itself narrowed to it."""
    path = Path(path)
    missing = []
    while not path.exists() and path != path.parent:
        missing.append(path)
        path = path.parent
    for level in reversed(missing):
        level.mkdir(mode=mode, exist_ok=True)
        narrow(level, mode)
    top = missing[0] if missing else path
    narrow(top, mode)
    return top


def private_file(path: Path, mode: int = DATABASE) -> None:
    """`path` created empty with `mode` if absent, else narrowed to it."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode))
    except FileExistsError:
        pass
    narrow(Path(path), mode)
