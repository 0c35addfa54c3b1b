"""How much room is left where the appliance keeps its data, and whether intake waits for it.

Below every feature that writes recordings (the worker, voicemail intake, ingest) and the ops
pages that report it, so each asks the same question the same way.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Disk:
    free_bytes: int
    total_bytes: int
    min_free_bytes: int

    @property
    def low(self) -> bool:
        return self.free_bytes < self.min_free_bytes


def disk(settings) -> Disk:
    """The fullest of the file systems holding the database, the recordings and the spool."""
    usages = []
    for folder in (settings.db_path.parent, settings.data_dir, settings.spool_dir):
        path = Path(folder)
        while not path.exists():
            path = path.parent
        usages.append(shutil.disk_usage(path))
    worst = min(usages, key=lambda usage: usage.free)
    return Disk(worst.free, worst.total, settings.disk_min_free_mb * 1024 * 1024)


def intake_paused(settings) -> bool:
    return disk(settings).low
