import sqlite3

from appliance.store import Store
from appliance.store.schema import MIGRATIONS


def test_a_database_from_before_the_web_upgrades_with_its_calls_marked_as_changed(tmp_path):
    path = tmp_path / "v1.db"
    conn = sqlite3.connect(path)
    for statement in MIGRATIONS[0]:
        conn.execute(statement)
    conn.executescript(
        """
        PRAGMA user_version = 1;
        INSERT INTO calls (id, caller, created_at) VALUES (1, '+49301234', 10.0), (2, NULL, 20.0);
        INSERT INTO recordings (id, call_id, created_at) VALUES (1, 1, 10.0), (2, 2, 20.0);
        INSERT INTO jobs (recording_id, not_before, created_at, updated_at)
          VALUES (1, 10.0, 10.0, 15.0), (2, 20.0, 20.0, 25.0);
        INSERT INTO transcripts (recording_id, language, engine, model, duration, created_at)
          VALUES (1, 'de', 'fw', 'base', 1.0, 30.0);
        """
    )
    conn.close()

    with Store(path) as store:
        mark, changed = store.calls.changes_since(0.0)
        assert (mark, [call.id for call in changed]) == (30.0, [2, 1])
        assert store.calls.changes_since(25.0) == (30.0, [store.calls.get(1)])
        assert store.calls.page(number="301234")[0].id == 1
        assert store.users.all() == [] and store.audit.count() == 0
