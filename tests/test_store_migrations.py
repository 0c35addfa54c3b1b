import multiprocessing
import sqlite3
from types import SimpleNamespace

import pytest

from appliance.errors import ApplianceError
from appliance.store import Store
from appliance.store.schema import MIGRATIONS
from appliance.transcript.model import CallMeta


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
        store.vocabulary.add("Müller")
    with Store(path) as first, Store(path) as second:
        assert first.vocabulary.all() == second.vocabulary.all() == ["Müller"]
    assert _pragma(path, "user_version") == len(MIGRATIONS)


def test_open_from_settings_creates_the_data_folder(tmp_path):
    settings = SimpleNamespace(db_path=tmp_path / "var" / "lib" / "appliance.db")
    with Store.open(settings) as store:
        assert store.jobs.queue_stats()["queued"] == 0
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
        store.vocabulary.add("ok")


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
        assert store.vocabulary.all() == ["ok"]


def _database_at(path, version):
    conn = sqlite3.connect(path)
    for step in MIGRATIONS[:version]:
        for statement in step:
            statement(conn) if callable(statement) else conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {version}")
    return conn


def test_step_17_keeps_each_calls_duration_for_sorting(tmp_path):
    path = tmp_path / "v16.db"
    conn = _database_at(path, 16)
    conn.executescript(
        """
        INSERT INTO calls (id, caller, started_at, created_at) VALUES (1, '201', '2024-05-01T10:00:00+02:00', 10.0),
          (2, '202', NULL, 20.0);
        INSERT INTO recordings (id, call_id, created_at) VALUES (1, 1, 10.0), (2, 1, 11.0), (3, 2, 20.0);
        INSERT INTO transcripts (id, recording_id, language, engine, model, duration, created_at)
          VALUES (1, 1, 'de', 'fw', 'base', 4.0, 15.0), (2, 2, 'de', 'fw', 'base', 74.0, 16.0);
        """
    )
    conn.commit()
    conn.close()
    with Store(path) as store:
        assert [(c.id, c.duration) for c in store.calls.page(sort="duration")] == [(1, 74.0), (2, None)]
        assert [c.id for c in store.calls.page()] == [1, 2]  # no start: when it arrived (20 s after 1970)


def test_step_4_fills_the_new_columns_and_indexes_of_an_old_database(tmp_path):
    path = tmp_path / "v3.db"
    conn = _database_at(path, 3)
    conn.executescript(
        """
        INSERT INTO calls (id, caller, callee, started_at, created_at) VALUES
          (1, '+49 (30) 123-4567', '200', '2024-05-01T23:30:00-02:00', 10.0),
          (2, NULL, '030/98 76', NULL, 1714694400.0),
          (3, '+44 20 7946', '201', '2024-05-04T08:00:00Z', 30.0);
        INSERT INTO recordings (id, call_id, created_at) VALUES (1, 1, 10.0), (2, 2, 20.0), (3, 3, 30.0);
        INSERT INTO jobs (recording_id, state, not_before, created_at, updated_at)
          VALUES (1, 'done', 10.0, 10.0, 15.0), (2, 'done', 20.0, 20.0, 25.0), (3, 'queued', 30.0, 30.0, 30.0);
        INSERT INTO transcripts (id, recording_id, language, engine, model, duration, created_at)
          VALUES (1, 1, 'de', 'fw', 'base', 4.0, 15.0), (2, 2, 'de', 'fw', 'base', 2.0, 25.0);
        INSERT INTO speakers (transcript_id, idx, label, role)
          VALUES (1, 0, 'Caller', 'caller'), (1, 1, 'Agent', 'callee'), (2, 0, 'Anna', 'callee');
        INSERT INTO turns (id, transcript_id, idx, speaker, start_time, end_time, text) VALUES
          (1, 1, 0, 0, 0.0, 1.0, 'Meine Rechnung'), (2, 1, 1, 1, 1.0, 2.0, 'Die Rechnung'),
          (3, 2, 0, 0, 0.0, 1.0, 'Noch eine Rechnung'), (4, 2, 1, 1, 1.0, 2.0, 'Rechnung');
        INSERT INTO turns_fts (rowid, text, speaker, caller, callee) VALUES
          (1, 'Meine Rechnung', 'Caller', '+49 (30) 123-4567', '200'),
          (2, 'Die Rechnung', 'Agent', '+49 (30) 123-4567', '200'),
          (3, 'Noch eine Rechnung', 'Anna', NULL, '030/98 76'),
          (4, 'Rechnung', 'Speaker 2', NULL, '030/98 76');
        """
    )
    conn.commit()
    conn.close()

    with Store(path) as store:
        db = store._db
        assert db.execute(
            "SELECT id, caller_digits, callee_digits, first_turn, last_turn, turn_count FROM calls"
        ).fetchall() == [
            (1, "+49301234567", "200", 1, 2, 2),
            (2, None, "0309876", 3, 4, 2),
            (3, "+44207946", "201", None, None, 0),
        ]
        assert db.execute("SELECT count(*) FROM call_numbers").fetchone()[0] == 5
        assert db.execute("SELECT rowid, role FROM turns_recent ORDER BY rowid").fetchall() == [
            (1, "caller"), (2, "callee"), (3, "callee"), (4, "speaker"),
        ]
        assert [c.id for c in store.calls.page(number="+49 (30) 123-45")] == [1]
        assert [c.id for c in store.calls.page(number="98-76")] == [2]
        assert [c.id for c in store.calls.page(date_from="2024-05-02", date_to="2024-05-03")] == [2, 1]
        assert store.calls.count(state="queued") == 1
        hits = store.search.hits("rechnung", role="callee", date_from="2024-05-02", number="30")
        assert {(h.call_id, h.turn_index) for h in hits} == {(1, 1), (2, 0)}
        assert store.search.count("rechnung", role="speaker") == 1
        # New calls keep the columns filled.
        store.intake.enqueue(CallMeta(uniqueid="n.1", caller="0171 / 555 12"), [tmp_path / "n.raw"])
        assert [c.caller for c in store.calls.page(number="017155512")] == ["0171 / 555 12"]
    assert _pragma(path, "user_version") == len(MIGRATIONS)
