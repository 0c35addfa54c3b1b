"""The whole pipeline inside a network namespace with only loopback: a call is ingested,
transcribed by the worker and stored, with no way out of the box."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from appliance.store import Store
from support.processes import APPLIANCE

pytestmark = pytest.mark.model

CALL = "/usr/share/asterisk/sounds/en/tt-weasels.wav"
SCRIPT = f"""
set -e
ip link set lo up
# No route leaves this namespace: a connection to the internet fails at once.
if {sys.executable} -c "import socket; socket.create_connection(('1.1.1.1', 443), timeout=3)" 2>/dev/null; then
    echo "the namespace reaches the internet" >&2; exit 3
fi
{APPLIANCE} init
{APPLIANCE} ingest {CALL} --uniqueid ns-1 --caller "+49 30 5550000" --callee 200 --direction inbound
{APPLIANCE} worker --once
"""


def test_a_call_is_ingested_transcribed_and_stored_with_only_loopback(no_network, tmp_path, models_dir):
    env = {**os.environ, "APPLIANCE_CONFIG": "/dev/null", "APPLIANCE_DATA_DIR": str(tmp_path / "data"),
           "APPLIANCE_MODELS_DIR": str(models_dir)}

    result = subprocess.run(no_network + ["sh", "-c", SCRIPT], env=env, capture_output=True, text=True,
                            timeout=600)

    assert result.returncode == 0, result.stderr
    assert "processed 1 job(s)" in result.stdout
    with Store(Path(tmp_path / "data" / "appliance.db")) as store:
        (call,) = store.calls.page()
        assert (call.state, call.caller) == ("done", "+49 30 5550000")
        assert "weasels" in store.transcripts.get(call.id).text.lower()
        assert [hit.call_id for hit in store.search.hits("weasels")] == [call.id]
