import pytest


@pytest.fixture
def logged(store):
    store.audit.add("alice", "login", now=100.0)
    store.audit.add("alice", "listen", "call:1", now=200.0)
    store.audit.add("bob", "export", "call:1", "vtt", now=300.0)
    store.audit.add(None, "login_failed", None, "ip 10.0.0.5", now=400.0)
    store.audit.add("alice", "delete", "call:2", now=500.0)


def test_the_log_reads_newest_first_with_every_field(store, logged):
    entries = store.audit.entries()
    assert [entry.at for entry in entries] == [500.0, 400.0, 300.0, 200.0, 100.0]
    export = entries[2]
    assert (export.actor, export.action, export.target, export.detail) == (
        "bob", "export", "call:1", "vtt",
    )
    assert (entries[1].actor, entries[1].target) == (None, None)
    assert store.audit.count() == 5


def test_an_entry_written_later_with_an_earlier_time_sorts_by_its_time(store, logged):
    store.audit.add("carol", "login", now=150.0)
    assert [entry.at for entry in store.audit.entries()][-3:] == [200.0, 150.0, 100.0]


def test_the_log_filters_by_action_and_actor_and_pages(store, logged):
    assert [e.action for e in store.audit.entries(actor="alice")] == ["delete", "listen", "login"]
    assert [e.actor for e in store.audit.entries(action="login")] == ["alice"]
    assert store.audit.entries(action="login", actor="bob") == []
    assert (store.audit.count(actor="alice"), store.audit.count(action="export")) == (3, 1)
    assert store.audit.count(action="login", actor="bob") == 0
    assert [e.at for e in store.audit.entries(limit=2, offset=1)] == [400.0, 300.0]
    assert [e.at for e in store.audit.entries(limit=2, offset=2, actor="alice")] == [100.0]
