"""Shared fixtures. Keep each one small; add yours below."""

import pytest

from appliance.store import Store


@pytest.fixture
def store(tmp_path):
    """A Store on a fresh database file, closed after the test."""
    with Store(tmp_path / "appliance.db") as store:
        yield store
