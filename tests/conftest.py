"""Shared fixtures. Keep each one small; add yours below. Helpers live in the `support`
package; its modules that define fixtures are plugins here, so a test names a fixture as an
argument and never imports it."""

import functools
from pathlib import Path

import pytest

pytest_plugins = ("support.web", "support.served", "support.browser")  # web before served, which imports it

from appliance.store import Store


def pytest_xdist_make_scheduler(config, log):
    """Under pytest-xdist (bin/run-tests: -n 2) each module runs whole on one worker, so its
    module-scoped servers start once, and the modules that start the Asterisk test root run
    one after another on one worker: there is one root, with fixed ports."""
    from xdist.scheduler import LoadScopeScheduling

    class ModulesAndTheAsteriskRoot(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return "the Asterisk test root" if _starts_asterisk(config.rootpath / module) else module

    return ModulesAndTheAsteriskRoot(config, log)


@functools.cache
def _starts_asterisk(module: Path) -> bool:
    # The controller has node ids, not imported modules: read the module's source.
    return "start_asterisk" in module.read_text()


@pytest.fixture
def store(tmp_path):
    """A Store on a fresh database file, closed after the test."""
    # The same file as `settings.db_path`, so a Worker built from `settings` shares it.
    (tmp_path / "data").mkdir(exist_ok=True)
    with Store(tmp_path / "data" / "appliance.db") as store:
        yield store


# --- settings and the real model -------------------------------------------------------------

import os  # noqa: E402

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


# --- mail ------------------------------------------------------------------------------------

import email  # noqa: E402
import email.policy  # noqa: E402
import socket  # noqa: E402


@pytest.fixture(scope="module")
def smtp_sink():
    """A real SMTP server on loopback that keeps every message it receives: (handler with
    .messages, "host:port" for mail_relay)."""
    from aiosmtpd.controller import Controller

    class Keep:
        def __init__(self):
            self.messages = []

        async def handle_DATA(self, server, session, envelope):
            self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
            return "250 OK"

    with socket.socket() as probe:  # a free port: aiosmtpd checks its own start on it
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    handler = Keep()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, f"127.0.0.1:{port}"
    finally:
        controller.stop()


# --- webhooks --------------------------------------------------------------------------------

import http.server  # noqa: E402
import ipaddress  # noqa: E402
import json  # noqa: E402
import threading  # noqa: E402


@pytest.fixture(scope="module")
def webhook_receiver():
    """A real HTTP server on loopback that keeps the JSON body of every POST: ("url", bodies).
    tests/test_webhooks.py has its own, which checks the signatures too."""
    received: list = []

    class Keep(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Keep)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    server.shutdown()
    server.server_close()


@pytest.fixture
def loopback_is_lan(monkeypatch):
    """The receiver listens on 127.0.0.1, which a real box refuses (tests/test_webhooks.py)."""
    from appliance.webhooks import delivery

    monkeypatch.setattr(delivery, "LAN_NETWORKS", (*delivery.LAN_NETWORKS, ipaddress.ip_network("127.0.0.1/32")))


# --- the appliance as processes ---------------------------------------------------------------

import shutil  # noqa: E402
import subprocess  # noqa: E402

from support.processes import APPLIANCE, unavailable  # noqa: E402


@pytest.fixture
def worker_env(tmp_path, models_dir):
    return {
        **os.environ,
        "APPLIANCE_CONFIG": "/dev/null",
        "APPLIANCE_DATA_DIR": str(tmp_path / "data"),
        "APPLIANCE_MODELS_DIR": str(models_dir),
        "APPLIANCE_LEASE_SECONDS": "3",
        "APPLIANCE_POLL_INTERVAL_SECONDS": "0.2",
        "APPLIANCE_SWEEP_INTERVAL_SECONDS": "1",
        "APPLIANCE_SPOOL_SETTLE_SECONDS": "1",
    }


@pytest.fixture
def start_worker(worker_env):
    processes = []

    def start():
        process = subprocess.Popen([str(APPLIANCE), "worker"], env=worker_env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        processes.append(process)
        return process

    yield start
    for process in processes:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=30)
        process.stderr.close()


def _unshare_available() -> bool:
    if shutil.which("unshare") is None:
        return False
    return subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0


@pytest.fixture
def no_network():
    if not _unshare_available():
        unavailable("`unshare -n` (offline proof) needs root and util-linux")
    return ["unshare", "-n"]

