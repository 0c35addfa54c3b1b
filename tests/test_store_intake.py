from appliance.store import Store
from appliance.transcript.model import CallMeta


def test_enqueue_same_path_twice_gives_one_recording_and_one_job(store, tmp_path):
    path = tmp_path / "1700000000.1.raw"
    first = store.intake.enqueue(CallMeta(uniqueid="1700000000.1"), [path])
    second = store.intake.enqueue(CallMeta(uniqueid="1700000000.1"), [str(path)])

    assert first.created and not second.created
    assert (second.call_id, second.recording_id, second.job_id) == (
        first.call_id,
        first.recording_id,
        first.job_id,
    )
    assert len(store.jobs.all()) == 1
    assert store.jobs.queue_stats() == dict(queued=1, running=0, done=0, failed=0, quarantined=0)


def test_both_files_of_a_mixmonitor_pair_are_known_in_order(store, tmp_path):
    pair = [tmp_path / "call-r.wav", tmp_path / "call-t.wav"]
    result = store.intake.enqueue(CallMeta(uniqueid="1.1"), pair, {"sample_rate": 8000})

    assert store.intake.known_paths() == {str(pair[0]), str(pair[1])}
    job = store.jobs.get(result.job_id)
    assert job.paths == (str(pair[0]), str(pair[1]))
    assert job.options == {"sample_rate": 8000}
    # The second file alone is the same recording, not a new job.
    assert not store.intake.enqueue(CallMeta(), [pair[1]]).created


def test_relative_paths_are_stored_absolute(store, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    store.intake.enqueue(CallMeta(), ["spool/a.raw"])
    assert store.intake.known_paths() == {str(tmp_path / "spool" / "a.raw")}


def test_same_uniqueid_shares_the_call_and_fills_missing_metadata(store, tmp_path):
    meta = CallMeta(uniqueid="42.7", caller="+4930123")
    first = store.intake.enqueue(meta, [tmp_path / "a.raw"])
    second = store.intake.enqueue(
        CallMeta(uniqueid="42.7", caller="999", callee="200", direction="inbound"),
        [tmp_path / "b.raw"],
    )

    assert second.created and second.call_id == first.call_id
    assert second.recording_id != first.recording_id
    meta = store.jobs.get(second.job_id).meta
    assert (meta.caller, meta.callee, meta.direction) == ("+4930123", "200", "inbound")


def test_calls_without_uniqueid_are_separate_calls(store, tmp_path):
    a = store.intake.enqueue(CallMeta(uniqueid=""), [tmp_path / "a.wav"])
    b = store.intake.enqueue(CallMeta(), [tmp_path / "b.wav"])
    assert a.call_id != b.call_id


def test_re_enqueue_of_a_known_file_adds_the_metadata_it_brings(store, tmp_path):
    # The spool sweep may see a file before the hook's ticket with the call's details arrives.
    swept = store.intake.enqueue(CallMeta(), [tmp_path / "x.raw"])
    store.intake.enqueue(CallMeta(uniqueid="9.9", caller="+441234"), [tmp_path / "x.raw"])

    summary = store.calls.get(swept.call_id)
    assert (summary.uniqueid, summary.caller, summary.state) == ("9.9", "+441234", "queued")


def test_enqueue_is_durable_across_reopen(tmp_path):
    path = tmp_path / "db.sqlite"
    with Store(path) as store:
        store.intake.enqueue(CallMeta(uniqueid="1"), [tmp_path / "a.raw"])
    with Store(path) as store:
        assert store.intake.known_paths() == {str(tmp_path / "a.raw")}
        assert not store.intake.enqueue(CallMeta(uniqueid="1"), [tmp_path / "a.raw"]).created


def test_a_batch_commits_its_calls_together_or_not_at_all(store, tmp_path):
    with store.batch():
        store.intake.enqueue(CallMeta(uniqueid="1.1"), [tmp_path / "a.raw"])
        store.intake.enqueue(CallMeta(uniqueid="1.2"), [tmp_path / "b.raw"])
    try:
        with store.batch():
            store.intake.enqueue(CallMeta(uniqueid="1.3"), [tmp_path / "c.raw"])
            raise RuntimeError("the load stopped halfway")
    except RuntimeError:
        pass
    assert store.calls.count() == 2
    with Store(store.path) as other:  # committed: another connection sees them
        assert other.intake.known_paths() == {str(tmp_path / "a.raw"), str(tmp_path / "b.raw")}


def test_query_plans_are_those_of_the_reads_the_store_ran(store, tmp_path):
    store.intake.enqueue(CallMeta(uniqueid="1.1", caller="+4930123"), [tmp_path / "a.raw"])
    with store.query_plans() as plans:
        store.calls.page(limit=5, number="30123")
    assert plans and all(plan.sql.lstrip().upper().startswith(("SELECT", "WITH")) for plan in plans)
    assert any("'30123'" in plan.sql for plan in plans)  # the values as they were bound
    details = " ".join(detail for plan in plans for _depth, detail in plan.steps)
    assert "calls" in details and "INDEX" in details
