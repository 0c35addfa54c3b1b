"""Issue 15, files on disk: the database and its -wal/-shm are the service's alone (0600), the
data and recording folders 0750, recordings never readable by others, backups 0600 in 0700
folders; wider modes an older install left are narrowed when the appliance starts. The site's
secrets are created once, whole, even by processes starting together, and read again only
when they change. Real files of a real `appliance serve`, `appliance ingest` and `appliance backup`.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from appliance.config import site_secret
from appliance.store import Store
from support.web import write_wav


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_served_database_and_folders_are_the_services_alone(served):
    assert served.browser().get("/healthz").status in (200, 503)  # a request has opened the store
    data = served.data_dir
    with served.store() as store:  # the -wal and -shm exist while a connection is open
        store.ops.call_count()
        for name in ("appliance.db", "appliance.db-wal", "appliance.db-shm"):
            assert mode(data / name) == 0o600, name
    # tests/support/served.py made both folders with the default umask (0755): narrowed at start.
    assert mode(data) == 0o750
    assert mode(data / "recordings") == 0o750


def test_an_ingested_recording_lands_in_0750_folders_unreadable_by_others(served, tmp_path):
    source = write_wav(tmp_path / "files-ingest.wav", 1.0)
    source.chmod(0o644)
    served.cli("ingest", str(source), "--uniqueid", "files-ingest-1")
    copy = next((served.data_dir / "recordings").rglob("files-ingest.wav"))
    assert mode(copy) & 0o007 == 0 and mode(copy) & 0o600 == 0o600
    folder = copy.parent
    while folder != served.data_dir:
        assert mode(folder) == 0o750, folder
        folder = folder.parent


def test_a_backup_is_0600_files_in_0700_folders(served, tmp_path):
    served.cli("backup", str(tmp_path / "backups"))
    (backup,) = (tmp_path / "backups").iterdir()
    found = list(backup.rglob("*"))
    assert any(p.name == "appliance.db" for p in found) and any(p.suffix == ".wav" for p in found)
    for path in [backup, *found]:
        assert mode(path) == (0o700 if path.is_dir() else 0o600), path


def test_an_older_installs_wide_database_files_are_narrowed_when_opened(tmp_path):
    db = tmp_path / "appliance.db"
    Store(db).close()
    for path in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
        path.touch()
        path.chmod(0o644)
    Store(db).close()
    for path in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
        if path.exists():
            assert mode(path) == 0o600, path


_READ_SECRET = "import sys; from pathlib import Path; from appliance.config import site_secret; " \
               "sys.stdin.read(); print(site_secret(Path(sys.argv[1]), 'secret_key'))"


def test_processes_starting_together_share_one_whole_secret(tmp_path):
    data = tmp_path / "data"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    starts = [subprocess.Popen([sys.executable, "-c", _READ_SECRET, str(data)], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True, env=env) for _ in range(6)]
    # Each waits on its stdin, imported and ready: closing them all lets them race for the file.
    for process in starts:
        process.stdin.close()
    secrets_seen = set()
    for process in starts:
        with process.stdout:
            secrets_seen.add(process.stdout.read().strip())
    assert [process.wait(timeout=60) for process in starts] == [0] * 6
    assert len(secrets_seen) == 1 and len(secrets_seen.pop()) >= 40
    assert [p.name for p in data.iterdir()] == ["secret_key"]  # no temporary file left behind
    assert mode(data / "secret_key") == 0o600


def test_a_secret_is_read_again_only_when_its_file_changes(tmp_path):
    first = site_secret(tmp_path, "worker_secret")
    assert site_secret(tmp_path, "worker_secret") == first
    (tmp_path / "worker_secret").write_text("restored-from-another-box-" + "x" * 40)
    assert site_secret(tmp_path, "worker_secret") == "restored-from-another-box-" + "x" * 40


def test_the_server_logs_no_search_and_no_number(served):
    admin = served.login("admin")
    for path in ("/search?q=zebracrossingword", "/?number=%2B4917699887766", "/api/search?q=zebracrossingword"):
        assert admin.get(path).status < 500
    logs = [served.log, *served.data_dir.rglob("*.log")]
    for log in logs:
        text = log.read_text(errors="replace")
        assert "zebracrossingword" not in text and "17699887766" not in text, log
