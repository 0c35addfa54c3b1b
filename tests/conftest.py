"""Shared fixtures. Keep each one small; add yours below."""

import pytest

from appliance.store import Store


@pytest.fixture
def store(tmp_path):
    """A Store on a fresh database file, closed after the test."""
    # The same file as `settings.db_path`, so a Worker built from `settings` shares it.
    (tmp_path / "data").mkdir(exist_ok=True)
    with Store(tmp_path / "data" / "appliance.db") as store:
        yield store


# --- settings and the real model -------------------------------------------------------------

import os  # noqa: E402
from pathlib import Path  # noqa: E402

from appliance import models as model_registry  # noqa: E402
from appliance.config import PROJECT_ROOT, load_settings  # noqa: E402

# Tests never read the machine's /etc/appliance/appliance.toml: an empty settings file.
NO_CONFIG = Path("/dev/null")
# Models are installed once (by bin/test, or here on first use) and shared by every test.
MODELS_DIR = Path(os.environ.get("APPLIANCE_TEST_MODELS_DIR", PROJECT_ROOT / "var" / "models"))


@pytest.fixture(scope="session")
def models_dir():
    settings = load_settings(NO_CONFIG, environ={}, data_dir=MODELS_DIR.parent, models_dir=MODELS_DIR)
    for name in ("whisper-base", "speaker-encoder"):
        if not model_registry.verify(name, MODELS_DIR, None).installed:
            model_registry.install(settings, name)
    return MODELS_DIR


@pytest.fixture
def make_settings(tmp_path, models_dir):
    """Settings on a fresh data folder that share the installed models; overrides as kwargs."""

    def make(**overrides):
        values = {"data_dir": tmp_path / "data", "models_dir": models_dir, **overrides}
        return load_settings(NO_CONFIG, environ={}, **values)

    return make


@pytest.fixture
def settings(make_settings):
    return make_settings()


@pytest.fixture(scope="session")
def engine(models_dir):
    """One loaded Whisper engine for the whole session (loading costs about a second)."""
    from appliance.stt import engine_for

    return engine_for(load_settings(NO_CONFIG, environ={}, data_dir=models_dir.parent, models_dir=models_dir))
