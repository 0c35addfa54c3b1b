import time
from datetime import datetime, timezone

import pytest
from support.store import finished_call, row_counts

from appliance.errors import NotFound
from appliance.transcript.model import CallMeta, Transcript, Turn

T0 = float(int(time.time()) + 3600)


def _meta(uniqueid, caller="+49 30 1234567", callee="200", started_at=None, kind="call"):
    return CallMeta(uniqueid=uniqueid, caller=caller, callee=callee, started_at=started_at,
                    kind=kind)


def _ids(calls):
    return [call.id for call in calls]


def test_a_summary_names_its_latest_job_recording_progress_and_attempts(store, tmp_path):
    done = finished_call(store, tmp_path, _meta("1.1"), [(0, "Hallo")])
    queued = store.intake.enqueue(_meta("2.1"), [tmp_path / "2.raw"])
    store.jobs.claim("w", 60)
    store.jobs.heartbeat(queued.job_id, "w", 60, progress=0.25)

    running, finished = store.calls.page()
    assert (running.job_id, running.recording_id, running.state) == (
        queued.job_id, queued.recording_id, "running",
    )
    assert (running.progress, running.attempts) == (0.25, 1)
    assert (finished.job_id, finished.progress, finished.attempts) == (done.job_id, 1.0, 1)


@pytest.fixture
def dated(store, tmp_path):
    """Calls on the UTC days 04-30, 05-01, 05-02 (written with an offset), 05-03 and today."""
    starts = [
        "2024-04-30T23:59:59+00:00",
        "2024-05-01T00:00:00Z",
        "2024-05-01T23:30:00-02:00",  # 2024-05-02T01:30 UTC
        "2024-05-03 12:00:00",
        None,  # unknown start: the day the appliance learnt of the call
    ]
    return [
        store.intake.enqueue(_meta(f"{n}.1", started_at=start), [tmp_path / f"{n}.raw"]).call_id
        for n, start in enumerate(starts)
    ]


def test_date_filters_include_whole_utc_days_on_both_ends(store, dated):
    assert _ids(store.calls.page(date_from="2024-05-01", date_to="2024-05-02")) == dated[2:0:-1]
    assert _ids(store.calls.page(date_from="2024-05-02", date_to="2024-05-02")) == [dated[2]]
    assert _ids(store.calls.page(date_to="2024-04-30")) == [dated[0]]
    assert _ids(store.calls.page(date_from="2024-05-03", date_to="2024-05-03")) == [dated[3]]
    assert store.calls.count(date_from="2024-05-01", date_to="2024-05-03") == 3


def test_a_call_without_a_start_is_dated_when_it_arrived(store, dated):
    arrived = store.calls.get(dated[4]).created_at
    today = datetime.fromtimestamp(arrived, timezone.utc).date().isoformat()
    assert _ids(store.calls.page(date_from=today, date_to=today)) == [dated[4]]
    assert store.calls.count(date_from="2024-05-04") == 1


@pytest.mark.parametrize("bad", ["2024-5-1", "20240501", "2024-02-30", "yesterday"])
def test_a_date_not_written_yyyy_mm_dd_is_refused(store, bad):
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        store.calls.page(date_from=bad)


@pytest.fixture
def numbered(store, tmp_path):
    parties = [("+49 (30) 123-4567", "200"), ("030/9876543", "201"), (None, "+44 20 7946 0000")]
    return [
        store.intake.enqueue(_meta(f"{n}.1", caller, callee), [tmp_path / f"{n}.raw"]).call_id
        for n, (caller, callee) in enumerate(parties)
    ]


@pytest.mark.parametrize(
    "number, matches",
    [
        ("1234567", [0]),
        ("30 123-45", [0]),
        ("(30)1234567", [0]),
        ("+4930", [0]),
        ("30/98", [1]),
        ("20", [2, 1, 0]),  # 200, 201 and +44 20 ... as callee
        ("2079460000", [2]),
        ("555", []),
        (" - ", [2, 1, 0]),  # nothing left to match: no filter
    ],
)
def test_number_matches_caller_or_callee_ignoring_punctuation(store, numbered, number, matches):
    assert _ids(store.calls.page(number=number)) == [numbered[i] for i in matches]
    assert store.calls.count(number=number) == len(matches)


def test_state_and_kind_filter_by_the_latest_job_and_the_call(store, tmp_path):
    done = finished_call(store, tmp_path, _meta("1.1"), [(0, "Hallo")]).call_id
    failed = store.intake.enqueue(_meta("2.1", kind="voicemail"), [tmp_path / "2.raw"])
    job = store.jobs.claim("w", 60)
    store.jobs.fail(job.id, "w", "not audio", permanent=True, max_attempts=3, backoff_seconds=1)
    queued = store.intake.enqueue(_meta("3.1", kind="voicemail"), [tmp_path / "3.raw"]).call_id

    assert _ids(store.calls.page(state="done")) == [done]
    assert _ids(store.calls.page(state="quarantined")) == [failed.call_id]
    assert _ids(store.calls.page(kind="voicemail")) == [queued, failed.call_id]
    assert _ids(store.calls.page(kind="voicemail", state="queued")) == [queued]
    assert store.calls.count(state="running") == 0
    assert store.calls.count() == 3
    assert _ids(store.calls.page(1, 1)) == [failed.call_id]  # the old positional form still works
    with pytest.raises(ValueError, match="state must be one of"):
        store.calls.page(state="finished")


def test_recording_files_are_the_latest_recordings_in_position_order(store, tmp_path):
    pair = [tmp_path / "call-r.wav", tmp_path / "call-t.wav"]
    first = store.intake.enqueue(_meta("1.1"), [tmp_path / "old.wav"], {"channels": 1})
    store.intake.enqueue(_meta("1.1"), pair, {"sample_rate": 8000})
    assert store.recordings.files(first.call_id) == tuple(str(path) for path in pair)
    assert store.recordings.options(first.call_id) == {"sample_rate": 8000}
    with pytest.raises(NotFound):
        store.recordings.files(999)
    with pytest.raises(NotFound):
        store.recordings.options(999)


def test_renaming_a_speaker_shows_in_the_transcript_and_in_search(store, tmp_path):
    call = finished_call(store, tmp_path, _meta("1.1"), [(0, "Guten Tag"), (1, "Hallo")]).call_id
    other = finished_call(store, tmp_path, _meta("2.1"), [(0, "Servus"), (1, "Tach")]).call_id
    store.transcripts.rename_speaker(call, 1, "  Frau   Weber ")

    speakers = store.transcripts.get(call).speakers
    assert [(s.index, s.label, s.role) for s in speakers] == [
        (0, "Caller", "caller"), (1, "Frau Weber", "callee"),
    ]
    assert store.calls.get(call).speakers == ("Caller", "Frau Weber")
    [hit] = store.search.hits("weber")
    assert (hit.call_id, hit.turn_index, hit.speaker) == (call, 1, "Frau Weber")
    assert [hit.call_id for hit in store.search.hits("agent")] == [other]
    assert store.transcripts.get(other).speakers[1].label == "Agent"


def test_renaming_needs_a_name_and_a_speaker_that_exists(store, tmp_path):
    call = finished_call(store, tmp_path, _meta("1.1"), [(0, "Hallo")]).call_id
    queued = store.intake.enqueue(_meta("2.1"), [tmp_path / "2.raw"]).call_id
    with pytest.raises(ValueError):
        store.transcripts.rename_speaker(call, 0, " \t")
    with pytest.raises(NotFound):
        store.transcripts.rename_speaker(call, 7, "Nobody")
    with pytest.raises(NotFound):
        store.transcripts.rename_speaker(queued, 0, "Nobody")
    assert store.transcripts.get(call).speakers[0].label == "Caller"


def test_deleting_a_call_removes_every_row_it_left_and_returns_its_files(store, tmp_path):
    kept = finished_call(store, tmp_path, _meta("1.1"), [(0, "Rechnung bezahlt")])
    before = row_counts(store)
    gone = finished_call(store, tmp_path, _meta("2.1"), [(0, "Zebrastreifen"), (1, "Ja")])
    store.intake.enqueue(_meta("2.1"), [tmp_path / "2-again.raw"])  # a second recording

    paths = store.calls.delete(gone.call_id)

    assert paths == (str(tmp_path / "2.1.raw"), str(tmp_path / "2-again.raw"))
    assert row_counts(store) == before
    assert store.search.hits("zebrastreifen") == []
    assert [hit.call_id for hit in store.search.hits("rechnung")] == [kept.call_id]
    assert _ids(store.calls.page()) == [kept.call_id]
    with pytest.raises(NotFound):
        store.calls.get(gone.call_id)
    with pytest.raises(NotFound):
        store.calls.delete(gone.call_id)
    # The spool sweep must not bring the call back if a file outlives the deletion.
    assert set(paths) <= store.intake.known_paths()


def test_a_call_deleted_while_a_worker_transcribes_it_gets_no_transcript(store, tmp_path):
    call = store.intake.enqueue(_meta("1.1"), [tmp_path / "1.raw"]).call_id
    job = store.jobs.claim("w", lease_seconds=60)
    store.calls.delete(call)

    assert not store.jobs.heartbeat(job.id, "w", 60, progress=0.5)
    transcript = Transcript("de", "fw", "base", 1.0, (), (Turn(0, 0.0, 1.0, "Hallo"),))
    assert not store.jobs.finish(job.id, "w", transcript)
    kwargs = dict(permanent=True, max_attempts=3, backoff_seconds=1)
    assert store.jobs.fail(job.id, "w", "file vanished", **kwargs) == "deleted"
    assert row_counts(store) == dict.fromkeys(row_counts(store), 0)


def test_changes_since_returns_only_calls_that_moved_and_a_new_mark(store, tmp_path):
    finished_call(store, tmp_path, _meta("1.1"), [(0, "Hallo")])
    waiting = store.intake.enqueue(_meta("2.1"), [tmp_path / "2.raw"])
    mark, changed = store.calls.changes_since(0.0)
    assert len(changed) == 2
    assert store.calls.changes_since(mark) == (mark, [])

    store.jobs.claim("w", 60, now=T0)
    mark, [call] = store.calls.changes_since(mark)
    assert (call.id, call.state, mark) == (waiting.call_id, "running", T0)

    store.jobs.heartbeat(waiting.job_id, "w", 60, progress=0.5, now=T0 + 1)
    mark, [call] = store.calls.changes_since(mark)
    assert (call.progress, mark) == (0.5, T0 + 1)
    assert store.calls.changes_since(mark) == (mark, [])


def test_a_change_committed_late_with_an_older_time_is_not_missed(store, tmp_path):
    a = store.intake.enqueue(_meta("1.1"), [tmp_path / "1.raw"])
    b = store.intake.enqueue(_meta("2.1"), [tmp_path / "2.raw"])
    store.jobs.claim("w1", 60, now=T0)
    store.jobs.claim("w2", 60, now=T0)
    store.jobs.heartbeat(a.job_id, "w1", 60, progress=0.5, now=T0 + 10)
    mark, _ = store.calls.changes_since(T0 - 1)
    # w2 took its time before it waited for the write lock, then committed after w1.
    store.jobs.heartbeat(b.job_id, "w2", 60, progress=0.5, now=T0 + 5)
    mark, [call] = store.calls.changes_since(mark)
    assert call.id == b.call_id and mark > T0 + 10


def test_changes_since_hands_out_many_changes_in_slices(store, tmp_path):
    for n in range(5):
        store.intake.enqueue(_meta(f"{n}.1"), [tmp_path / f"{n}.raw"])
    mark, seen = 0.0, []
    while True:
        mark, changed = store.calls.changes_since(mark, limit=2)
        if not changed:
            break
        seen += _ids(changed)
    assert sorted(seen) == _ids(store.calls.page())[::-1]


def test_deleted_calls_leave_no_change_behind(store, tmp_path):
    call = store.intake.enqueue(_meta("1.1"), [tmp_path / "1.raw"]).call_id
    store.calls.delete(call)
    assert store.calls.changes_since(0.0) == (0.0, [])
