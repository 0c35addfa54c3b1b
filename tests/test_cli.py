"""The `appliance` command, run as an admin would: one process per command, real files."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from appliance.transcript.model import Transcript
from support.processes import APPLIANCE

PROMPT = Path("/usr/share/asterisk/sounds/en/vm-intro.wav")  # "Please leave your message ... pound key."


def environment(data_dir: Path, models_dir: Path) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "APPLIANCE_CONFIG": "/dev/null",
        "APPLIANCE_DATA_DIR": str(data_dir),
        "APPLIANCE_MODELS_DIR": str(models_dir),
    }


def appliance(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(APPLIANCE), *args], env=env, capture_output=True, text=True, timeout=300)


def ok(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return result.stdout


def single_error_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 1, (result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


@pytest.fixture
def env(tmp_path, models_dir):
    return environment(tmp_path / "data", models_dir)


@pytest.fixture(scope="module")
def processed(tmp_path_factory, models_dir):
    """A call ingested from a file that is deleted before the worker runs, then processed once."""
    root = tmp_path_factory.mktemp("cli")
    env = environment(root / "data", models_dir)
    original = root / "incoming" / "vm-intro.wav"
    original.parent.mkdir()
    shutil.copy(PROMPT, original)

    init = ok(appliance(env, "init"))
    ingest = ok(appliance(env, "ingest", str(original), "--caller", "123", "--callee", "200"))
    original.unlink()
    worker = ok(appliance(env, "worker", "--once"))
    return {"env": env, "data_dir": root / "data", "init": init, "ingest": ingest, "worker": worker}


# --- transcribe: nothing stored ----------------------------------------------------------------


@pytest.mark.model
def test_transcribe_json_prints_the_transcript_model_with_word_probabilities(env):
    transcript = Transcript.from_dict(json.loads(ok(appliance(env, "transcribe", str(PROMPT), "--json"))))

    assert transcript.language == "en"
    assert transcript.model == "whisper-base"
    assert "message" in transcript.text.lower()
    assert "pound" in transcript.text.lower()
    words = [w for turn in transcript.turns for w in turn.words]
    assert words and all(0.0 < w.probability <= 1.0 for w in words)
    assert not (Path(env["APPLIANCE_DATA_DIR"]) / "appliance.db").exists()


@pytest.mark.model
def test_transcribe_as_srt_prints_numbered_cues(env):
    lines = ok(appliance(env, "transcribe", str(PROMPT), "--format", "srt")).splitlines()
    assert lines[0] == "1"
    assert lines[1].startswith("00:00:0") and " --> 00:00:0" in lines[1]
    assert lines[2].startswith("Speaker 1: ") and "message" in lines[2]


def test_transcribe_without_the_model_names_the_install_command(tmp_path):
    env = environment(tmp_path / "data", tmp_path / "no-models")
    error = single_error_line(appliance(env, "transcribe", str(PROMPT)))
    assert "appliance models install whisper-base" in error


# --- ingest, worker, calls, show, search, jobs -------------------------------------------------


@pytest.mark.model
def test_init_and_ingest_report_what_they_did(processed):
    assert processed["init"] == f"database ready: {processed['data_dir'] / 'appliance.db'}\n"
    assert processed["ingest"] == "call 1: job 1 queued\n"
    assert processed["worker"] == "processed 1 job(s)\n"


@pytest.mark.model
def test_ingest_keeps_its_own_copy_of_the_recording(processed):
    copies = list((processed["data_dir"] / "recordings").rglob("vm-intro.wav"))
    assert len(copies) == 1
    assert copies[0].read_bytes() == PROMPT.read_bytes()


@pytest.mark.model
def test_calls_lists_the_processed_call_as_done(processed):
    lines = ok(appliance(processed["env"], "calls")).splitlines()
    assert len(lines) == 1
    assert lines[0].split()[0] == "1"
    assert " done " in lines[0]
    assert lines[0].endswith("123 -> 200")


@pytest.mark.model
def test_show_prints_the_transcript_text(processed):
    text = ok(appliance(processed["env"], "show", "1"))
    assert text.startswith("[00:00] Speaker 1: ")
    assert "message" in text and "pound" in text


@pytest.mark.model
def test_show_as_webvtt_has_header_and_voice(processed):
    vtt = ok(appliance(processed["env"], "show", "1", "--format", "vtt"))
    assert vtt.startswith("WEBVTT\n\n00:00:0")
    assert "<v Speaker 1>" in vtt


@pytest.mark.model
def test_search_shows_the_call_with_the_match_in_brackets(processed):
    lines = ok(appliance(processed["env"], "search", "message")).splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("call 1 at 00:00  Speaker 1: ")
    assert "[message]" in lines[0]


@pytest.mark.model
def test_a_search_with_an_unbalanced_quote_is_one_error_line(processed):
    result = appliance(processed["env"], "search", '"unbalanced')
    error = single_error_line(result)
    assert "quote" in error
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


@pytest.mark.model
def test_jobs_shows_counts_per_state(processed):
    lines = ok(appliance(processed["env"], "jobs")).splitlines()
    assert lines[0] == "queued: 0  running: 0  done: 1  failed: 0  quarantined: 0"
    assert lines[1].split() == ["job", "1", "call", "1", "done", "(attempts", "1)"]


@pytest.mark.model
def test_show_of_an_unknown_call_is_one_error_line(processed):
    assert "99" in single_error_line(appliance(processed["env"], "show", "99"))


# --- vocabulary and models ---------------------------------------------------------------------


def test_vocab_add_then_list_shows_the_term(env):
    ok(appliance(env, "vocab", "add", "Weasels"))
    assert "Weasels" in ok(appliance(env, "vocab", "list")).splitlines()


def test_jobs_on_an_empty_appliance_shows_zero_counts(env):
    assert ok(appliance(env, "jobs")) == "queued: 0  running: 0  done: 0  failed: 0  quarantined: 0\n"
