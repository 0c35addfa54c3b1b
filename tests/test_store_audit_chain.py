"""The audit log as evidence, in the store: entries commit with what they record, rows cannot
be changed or removed, and the hash chain finds a row changed behind SQLite's back."""

import sqlite3

import pytest
from click.testing import CliRunner

from appliance.store import Store, calls as store_calls
from appliance.store.schema import MIGRATIONS
from appliance.transcript.model import CallMeta
from support.store import finished_call


class Crash(Exception):
    pass


@pytest.fixture
def call_id(store, tmp_path):
    return finished_call(store, tmp_path, CallMeta(uniqueid="1700000000.1", caller="+4930111"),
                         [(0, "hello")]).call_id


def crash_after(monkeypatch, owner, name):
    """Make `owner.name` do its work and then fail, as a crash right after it would."""
    real = getattr(owner, name)

    def then_crash(*args, **kwargs):
        real(*args, **kwargs)
        raise Crash

    monkeypatch.setattr(owner, name, then_crash)


def test_a_crash_after_the_delete_loses_neither_the_call_nor_its_entry_alone(store, call_id, monkeypatch):
    crash_after(monkeypatch, store_calls.Calls, "_delete")
    with pytest.raises(Crash):
        with store.audit.entry(None, "retention-delete", f"call {call_id}", "policy p"):
            store.calls.delete(call_id)
    # Neither happened: the call is still there and no entry claims it was deleted.
    assert store.calls.get(call_id).id == call_id
    assert store.audit.entries(action="retention-delete") == []


def test_a_crash_while_writing_the_entry_keeps_the_call(store, call_id, monkeypatch):
    from appliance.store import audit as store_audit

    monkeypatch.setattr(store_audit, "row_hash", lambda *a: (_ for _ in ()).throw(Crash()))
    with pytest.raises(Crash):
        with store.audit.entry("ada", "delete", f"call {call_id}"):
            store.calls.delete(call_id)
    assert store.calls.get(call_id).id == call_id


def test_retention_and_erasure_record_a_deletion_with_it(store, call_id, settings):
    from appliance.ops import erasure

    found = erasure.find(store, number="+4930111", words=None)
    erasure.erase(store, settings, found, actor="ada")
    (entry,) = store.audit.entries(action="erase")
    assert (entry.actor, entry.target) == ("ada", f"call {call_id}")
    assert store.calls.page() == []


def test_sqlite_refuses_to_change_or_remove_an_audit_row_whoever_asks(store):
    store.audit.add("ada", "login")
    conn = sqlite3.connect(store.path)
    for statement in ("UPDATE audit_log SET actor = 'eve'", "DELETE FROM audit_log"):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute(statement)
    conn.close()
    assert [(e.actor, e.action) for e in store.audit.entries()] == [("ada", "login")]
    assert not any(hasattr(store, name) for name in ("delete_audit", "update_audit", "edit_audit"))


def tamper(path, statement):
    """What someone with the database file can do: drop the guard and edit a row."""
    conn = sqlite3.connect(path)
    conn.executescript(f"DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete; {statement}")
    conn.close()


def verify(settings) -> tuple[int, str]:
    from appliance.cli import cli

    result = CliRunner().invoke(cli, ["audit", "verify"], env={
        "APPLIANCE_CONFIG": "/dev/null", "APPLIANCE_DATA_DIR": str(settings.data_dir)})
    return result.exit_code, result.output


@pytest.mark.parametrize("statement, broken", [
    ("UPDATE audit_log SET actor = 'eve' WHERE id = 3", 3),
    ("UPDATE audit_log SET at = at + 1 WHERE id = 2", 2),
    ("DELETE FROM audit_log WHERE id = 2", 3),  # the row after the gap no longer chains
    ("UPDATE audit_log SET hash = NULL", 1),
])
def test_verify_finds_the_first_row_tampered_with(store, settings, statement, broken):
    for n in range(5):
        store.audit.add("ada", "listen", f"call {n}", "bytes 0-")
    assert verify(settings) == (0, "ok, 5 entries\n")

    tamper(store.path, statement)

    code, output = verify(settings)
    assert code == 1 and f"broken at entry {broken}" in output


def test_rows_from_before_the_chain_are_chained_by_the_migration(tmp_path):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    for step in MIGRATIONS[:10]:
        for statement in step:
            conn.execute(statement)
    conn.execute("INSERT INTO audit_log (at, actor, action) VALUES (1.5, 'ada', 'login'), (2.5, NULL, 'x')")
    conn.execute("PRAGMA user_version = 10")
    conn.commit()
    conn.close()
    with Store(path) as store:
        store.audit.add("ada", "logout")
        assert store.audit.verify().entries == 3 and store.audit.verify().broken_id is None
        assert [e.action for e in store.audit.entries()] == ["logout", "x", "login"]


def test_the_log_filters_by_date_range_and_call(store):
    store.audit.add("ada", "listen", "call 1", now=100.0)
    store.audit.add("bob", "export", "call 2", "txt", now=200.0)
    store.audit.add("ada", "export", "call 1", "vtt", now=300.0)
    assert [e.at for e in store.audit.entries(since=150.0, until=300.0)] == [200.0]
    assert [e.at for e in store.audit.entries(target="call 1")] == [300.0, 100.0]
    assert store.audit.count(target="call 1", action="export", actor="ada") == 1
