"""`appliance backup` while the worker runs, then `appliance restore` onto an empty box: the
same calls, transcripts and recordings, byte for byte; the jobs still queued then finish."""

import hashlib
import json
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from appliance.store import Store
from support.processes import APPLIANCE, wait_for

pytestmark = [pytest.mark.model, pytest.mark.slow]

SOUNDS = Path("/usr/share/asterisk/sounds/en")
PROMPTS = ["vm-intro", "vm-nobodyavail", "tt-weasels", "privacy-prompt", "dir-intro", "vm-goodbye",
           "auth-thankyou", "vm-password"]


def appliance(env, *args, check=True):
    result = subprocess.run([str(APPLIANCE), *args], env=env, capture_output=True, text=True, timeout=600)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def snapshot(db: Path) -> dict:
    """What a user would miss: each call's numbers, state and transcript text."""
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute(
            "SELECT c.uniqueid, c.caller, j.state, (SELECT group_concat(t.text, ' ') FROM transcripts tr"
            " JOIN turns t ON t.transcript_id = tr.id WHERE tr.recording_id = r.id)"
            " FROM calls c JOIN recordings r ON r.call_id = c.id JOIN jobs j ON j.recording_id = r.id")
        return {uniqueid: (caller, state, text) for uniqueid, caller, state, text in rows}
    finally:
        conn.close()


def test_backup_while_the_worker_runs_restores_to_an_empty_box(tmp_path, worker_env, start_worker):
    data = Path(worker_env["APPLIANCE_DATA_DIR"])
    appliance(worker_env, "init")
    for n, prompt in enumerate(PROMPTS):
        appliance(worker_env, "ingest", str(SOUNDS / f"{prompt}.wav"), "--uniqueid", f"call-{n}",
                  "--caller", f"+49 30 555 {n:04d}")
    worker = start_worker()
    with Store(data / "appliance.db") as store:
        wait_for(lambda: store.jobs.queue_stats()["done"] >= 1, "the worker's first transcript")

        appliance(worker_env, "backup", str(tmp_path / "backups"))  # the worker goes on meanwhile

        wait_for(lambda: store.jobs.queue_stats()["done"] == len(PROMPTS), "every job")
    worker.terminate()
    worker.wait(timeout=60)
    (folder,) = (tmp_path / "backups").iterdir()
    manifest = json.loads((folder / "manifest.json").read_text())
    backed_up = snapshot(folder / "appliance.db")
    assert len(backed_up) == manifest["calls"] == len(PROMPTS)
    assert any(state == "done" for _, state, _ in backed_up.values())
    # A consistent snapshot: a job is done exactly when its transcript is there.
    assert all((state == "done") == (text is not None) for _, state, text in backed_up.values())
    conn = sqlite3.connect(folder / "appliance.db")
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    conn.close()
    originals = {entry["path"]: digest(Path(entry["path"])) for entry in manifest["files"]}
    assert len(originals) == len(PROMPTS) and manifest["missing"] == []
    assert (folder / "data" / "secret_key").exists() or not (data / "secret_key").exists()

    shutil.rmtree(data)  # the box is lost
    appliance(worker_env, "restore", str(folder))

    assert snapshot(data / "appliance.db") == backed_up
    assert {path: digest(Path(path)) for path in originals} == originals
    with Store(data / "appliance.db") as store:
        done = next(call for call in store.calls.page() if call.state == "done")
        assert store.transcripts.get(done.id).text.strip()
    # The jobs that were still waiting at backup time are not lost: they run on the new box.
    appliance(worker_env, "worker", "--once")
    restored = snapshot(data / "appliance.db")
    assert all(state == "done" and text for _, state, text in restored.values())
    assert "weasels" in appliance(worker_env, "search", "weasels").stdout.lower()


def test_restore_refuses_a_damaged_backup_and_asks_before_replacing_calls(tmp_path, worker_env):
    appliance(worker_env, "init")
    appliance(worker_env, "ingest", str(SOUNDS / "vm-intro.wav"), "--uniqueid", "one")
    appliance(worker_env, "backup", str(tmp_path / "b"))
    (folder,) = (tmp_path / "b").iterdir()

    refused = appliance(worker_env, "restore", str(folder), check=False)
    assert refused.returncode == 1 and "--force" in refused.stderr
    assert "restored 1 call" in appliance(worker_env, "restore", str(folder), "--force").stdout

    (recording,) = (folder / "files").rglob("*.wav")
    recording.write_bytes(recording.read_bytes()[:-10])
    damaged = appliance(worker_env, "restore", str(folder), "--force", check=False)
    assert damaged.returncode == 1 and "damaged" in damaged.stderr
    missing = appliance(worker_env, "restore", str(tmp_path), check=False)
    assert missing.returncode == 1 and "not a complete appliance backup" in missing.stderr
    manifest = json.loads((folder / "manifest.json").read_text())
    del manifest["database_sha256"]  # a manifest cut short, or from another tool
    (folder / "manifest.json").write_text(json.dumps(manifest))
    cut = appliance(worker_env, "restore", str(folder), "--force", check=False)
    assert cut.returncode == 1 and "not a complete appliance backup" in cut.stderr and "Traceback" not in cut.stderr
