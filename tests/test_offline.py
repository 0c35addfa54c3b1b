"""Nothing needs the network: transcription runs in a namespace with only loopback."""

import json
import os
import subprocess
import sys

import pytest

from appliance.transcript.model import Transcript
from support.processes import APPLIANCE

pytestmark = pytest.mark.model

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
