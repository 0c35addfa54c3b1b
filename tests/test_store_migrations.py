import multiprocessing
import sqlite3
from types import SimpleNamespace

import pytest

from appliance.errors import ApplianceError
from appliance.store import Store
from appliance.store.schema import MIGRATIONS


def _pragma(path, name):
    conn = sqlite3.connect(path)
    try:
        return conn.execute(f"PRAGMA {name}").fetchone()[0]
    finally:
        conn.close()


def test_open_creates_the_schema_in_wal_mode(tmp_path):
    path = tmp_path / "a.db"
    with Store(path):
        pass
    assert _pragma(path, "user_version") == len(MIGRATIONS)
    assert _pragma(path, "journal_mode") == "wal"


def test_opening_twice_keeps_the_data(tmp_path):
    path = tmp_path / "a.db"
    with Store(path) as store:
        store.add_vocabulary("Müller")
    with Store(path) as first, Store(path) as second:
        assert first.vocabulary() == second.vocabulary() == ["Müller"]
    assert _pragma(path, "user_version") == len(MIGRATIONS)


def test_open_from_settings_creates_the_data_folder(tmp_path):
    settings = SimpleNamespace(db_path=tmp_path / "var" / "lib" / "appliance.db")
    with Store.open(settings) as store:
        assert store.queue_stats()["queued"] == 0
    assert settings.db_path.exists()


def test_a_database_from_a_newer_appliance_is_refused(tmp_path):
    path = tmp_path / "a.db"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    conn.close()
    with pytest.raises(ApplianceError, match="newer than this appliance"):
        Store(path)


def _open_after(barrier, path):
    barrier.wait()
    with Store(path) as store:
        store.add_vocabulary("ok")


def test_processes_opening_a_fresh_database_at_once_all_succeed(tmp_path):
    path = tmp_path / "fresh.db"
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(6)
    processes = [ctx.Process(target=_open_after, args=(barrier, path)) for _ in range(6)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(60)
    assert [process.exitcode for process in processes] == [0] * 6
    with Store(path) as store:
        assert store.vocabulary() == ["ok"]
