"""A real browser for tests: Debian's Chromium driven by playwright (never `playwright install`).
Its fixtures (`chromium`, `browser`) reach every test through conftest.py."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from appliance.config import PROJECT_ROOT
from support.processes import unavailable

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # the `chromium` fixture says what is missing
    sync_playwright = None

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]


def artifacts_dir() -> Path:
    """Screenshots and traces of failed browser tests."""
    folder = Path(os.environ.get("APPLIANCE_TEST_ARTIFACTS", PROJECT_ROOT / "var" / "test-artifacts"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def chromium():
    """Debian's Chromium; missing it fails under CI and skips elsewhere."""
    if not CHROMIUM.is_file():
        unavailable(f"{CHROMIUM} is missing: apt-get install chromium (never `playwright install`)")
    if sync_playwright is None:
        unavailable("the Python package playwright is missing: pip install -e '.[test]'")
    return CHROMIUM


@pytest.fixture(scope="module")
def browser(chromium):
    """One Chromium for the module; each test opens its own context or page."""
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()
