"""What the benchmarks ran on, printed with every set of figures."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def _first_field(path: str, key: str) -> str | None:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(key):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def machine(with_memory: bool = False) -> str:
    cpu = _first_field("/proc/cpuinfo", "model name") or platform.processor() or "?"
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    described = f"{cpu}; {os.cpu_count()} CPUs, {usable} usable"
    if with_memory:
        total = _first_field("/proc/meminfo", "MemTotal")
        described += f"; {int(total.split()[0]) / 1024 ** 2:.1f} GiB RAM" if total else "; ? RAM"
    else:
        described += f"; Python {platform.python_version()}"
    return described
