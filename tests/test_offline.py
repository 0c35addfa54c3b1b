"""Nothing needs the network: transcription runs in a namespace with only loopback."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from appliance.transcript.model import Transcript

pytestmark = pytest.mark.model

APPLIANCE = Path(sys.executable).with_name("appliance")


def _unshare_available() -> bool:
    if shutil.which("unshare") is None:
        return False
    return subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0


@pytest.fixture
def no_network():
    if not _unshare_available():
        if os.environ.get("CI") == "true":
            pytest.fail("CI must prove offline operation: `unshare -n` needs root and util-linux")
        pytest.skip("unshare -n is not permitted here (needs root)")
    return ["unshare", "-n"]


def test_transcription_works_without_any_network(no_network, tmp_path, models_dir):
    env = {**os.environ, "APPLIANCE_CONFIG": "/dev/null", "APPLIANCE_DATA_DIR": str(tmp_path),
           "APPLIANCE_MODELS_DIR": str(models_dir)}
    # Prove the namespace really has no way out before trusting the result.
    probe = subprocess.run(no_network + [sys.executable, "-c",
                                         "import socket; socket.create_connection(('1.1.1.1', 443), timeout=3)"],
                           capture_output=True, text=True)
    assert probe.returncode != 0 and "unreachable" in probe.stderr.lower()

    result = subprocess.run(
        no_network + [str(APPLIANCE), "transcribe", "/usr/share/asterisk/sounds/en/demo-thanks.wav", "--json"],
        env=env, capture_output=True, text=True, timeout=300,
    )

    assert result.returncode == 0, result.stderr
    transcript = Transcript.from_dict(json.loads(result.stdout))
    assert "asterisk" in transcript.text.lower()
    assert transcript.turns[0].words
