"""What tests that run the appliance as processes share: the command, waiting for a condition,
and a missing tool that fails under CI and skips elsewhere."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

# The `appliance` command beside this Python, as an operator runs it.
APPLIANCE = Path(sys.executable).with_name("appliance")
DEADLINE = 300  # seconds; generous for a loaded CI machine, never a timing assertion


def wait_for(condition, what: str, processes=(), logs: tuple[Path, ...] = (), deadline: float = DEADLINE):
    """Poll until `condition()` is truthy and return it; give up early when one of `processes`
    has died, naming `what` and the tails of `logs`."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        value = condition()
        if value:
            return value
        if any(process.poll() is not None for process in processes):
            what = f"{what} (a process of the appliance exited)"
            break
        time.sleep(0.2)
    tails = "\n".join(f"--- {log.name}:\n{log.read_text(errors='replace')[-3000:]}" for log in logs if log.exists())
    raise AssertionError(f"gave up waiting for {what}\n{tails}".rstrip())


def unavailable(reason: str):
    """A tool or machine feature a test needs is missing: a failure under CI, a skip elsewhere."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must run this test: {reason}")
    pytest.skip(reason)
