import threading
import time

import pytest

from appliance.errors import NotFound
from appliance.transcript.model import CallMeta, Speaker, Transcript, Turn, Word

# A fixed "now" an hour ahead, so jobs enqueued at the real time are already due.
T0 = float(int(time.time()) + 3600)


def _transcript(meta: CallMeta) -> Transcript:
    return Transcript(
        language="de",
        engine="faster-whisper",
        model="whisper-base",
        duration=12.25,
        speakers=(Speaker(0, "+4930123", "caller"), Speaker(1, "200", "callee")),
        turns=(
            Turn(0, 0.0, 1.5, "Guten Tag, Müller hier.", (
                Word(0.0, 0.4, "Guten", 0.91),
                Word(0.4, 0.8, "Tag,", 0.8734567890123),
                Word(0.9, 1.5, "Müller hier.", 0.5),
            )),
            Turn(1, 1.7, 3.25, "Hallo!", (Word(1.7, 3.25, "Hallo!", 0.99),)),
            Turn(0, 3.5, 4.0, "", ()),
        ),
        meta=meta,
    )


@pytest.fixture
def queued(store, tmp_path):
    meta = CallMeta(uniqueid="1.1", caller="+4930123", callee="200", direction="inbound",
                    started_at="2024-05-01T10:00:00+00:00")
    return store.intake.enqueue(meta, [tmp_path / "1.1.raw"], {"channels": 2}), meta


def test_claim_heartbeat_finish_stores_a_transcript_that_reads_back_equal(store, queued):
    result, meta = queued
    job = store.jobs.claim("w1", lease_seconds=60, now=T0)
    assert (job.id, job.state, job.attempts, job.lease_owner) == (result.job_id, "running", 1, "w1")
    assert job.lease_expires == T0 + 60 and job.meta == meta and job.options == {"channels": 2}
    assert store.jobs.claim("w2", lease_seconds=60, now=T0) is None

    assert store.jobs.heartbeat(job.id, "w1", 120, progress=0.5, now=T0 + 30)
    assert (store.jobs.get(job.id).progress, store.jobs.get(job.id).lease_expires) == (0.5, T0 + 150)

    transcript = _transcript(meta)
    assert store.jobs.finish(job.id, "w1", transcript)
    done = store.jobs.get(job.id)
    assert (done.state, done.progress, done.lease_owner) == ("done", 1.0, None)
    assert store.transcripts.get(result.call_id) == transcript
    assert store.transcripts.count(result.recording_id) == 1


def test_call_summary_shows_transcript_details(store, queued):
    result, meta = queued
    job = store.jobs.claim("w1", 60)
    store.jobs.finish(job.id, "w1", _transcript(meta))

    [summary] = store.calls.page()
    assert summary == store.calls.get(result.call_id)
    assert (summary.state, summary.duration, summary.language) == ("done", 12.25, "de")
    assert summary.speakers == ("+4930123", "200")
    with pytest.raises(NotFound):
        store.calls.get(999)


def test_transcript_of_a_call_without_one_is_none(store, queued):
    assert store.transcripts.get(queued[0].call_id) is None


def test_finish_by_a_worker_that_lost_its_lease_writes_nothing(store, queued):
    result, meta = queued
    job = store.jobs.claim("w1", lease_seconds=10, now=T0)
    # w1 stalls past its lease; w2 takes the job over.
    taken = store.jobs.claim("w2", lease_seconds=10, now=T0 + 11)
    assert (taken.id, taken.lease_owner, taken.attempts) == (job.id, "w2", 2)

    assert not store.jobs.heartbeat(job.id, "w1", 10, now=T0 + 12)
    assert not store.jobs.finish(job.id, "w1", _transcript(meta))
    assert store.transcripts.count() == 0
    assert store.jobs.get(job.id).state == "running"

    assert store.jobs.finish(job.id, "w2", _transcript(meta))
    assert not store.jobs.finish(job.id, "w2", _transcript(meta))
    assert store.transcripts.count(result.recording_id) == 1


def test_a_second_finish_never_creates_a_second_transcript(store, queued):
    result, meta = queued
    job = store.jobs.claim("w1", 60)
    assert store.jobs.finish(job.id, "w1", _transcript(meta))
    store.jobs.retry(job.id)  # done jobs are not retried
    assert store.jobs.get(job.id).state == "done"
    assert store.jobs.claim("w1", 60) is None
    assert store.transcripts.count() == 1


def test_transient_failure_requeues_with_exponential_backoff(store, queued):
    job = store.jobs.claim("w1", 60, now=T0)
    kwargs = dict(permanent=False, max_attempts=3, backoff_seconds=30)
    assert store.jobs.fail(job.id, "w1", "decoder crashed", now=T0, **kwargs) == "queued"
    failed = store.jobs.get(job.id)
    assert (failed.not_before, failed.error) == (T0 + 30, "decoder crashed")
    assert failed.lease_owner is None
    assert store.jobs.claim("w1", 60, now=T0 + 29) is None

    job = store.jobs.claim("w1", 60, now=T0 + 30)
    assert (job.attempts, job.error) == (2, None)
    assert store.jobs.fail(job.id, "w1", "again", now=T0 + 30, **kwargs) == "queued"
    assert store.jobs.get(job.id).not_before == T0 + 30 + 60

    job = store.jobs.claim("w1", 60, now=T0 + 90)
    assert store.jobs.fail(job.id, "w1", "third time", now=T0 + 90, **kwargs) == "failed"
    assert (store.jobs.get(job.id).state, store.jobs.get(job.id).error) == ("failed", "third time")
    assert store.jobs.claim("w1", 60, now=T0 + 10_000) is None


def test_permanent_failure_quarantines_with_the_reason_and_retry_requeues(store, queued):
    job = store.jobs.claim("w1", 60)
    state = store.jobs.fail(job.id, "w1", "not audio: file is empty", permanent=True,
                           max_attempts=4, backoff_seconds=30)
    assert state == "quarantined"
    assert store.calls.get(job.call_id).error == "not audio: file is empty"

    store.jobs.retry(job.id)
    retried = store.jobs.get(job.id)
    assert (retried.state, retried.attempts) == ("queued", 0)
    assert retried.error == "not audio: file is empty"  # shown until the job runs again
    assert store.jobs.claim("w1", 60).id == job.id


def test_fail_by_a_worker_that_does_not_own_the_job_changes_nothing(store, queued):
    job = store.jobs.claim("w1", 60)
    state = store.jobs.fail(job.id, "w2", "nope", permanent=True, max_attempts=4, backoff_seconds=1)
    assert state == "running"
    assert store.jobs.get(job.id).error is None


def test_retry_of_an_unknown_job_raises_not_found(store):
    with pytest.raises(NotFound):
        store.jobs.retry(12345)
    with pytest.raises(NotFound):
        store.jobs.get(12345)


def test_recover_stale_leases_requeues_only_expired_running_jobs(store, tmp_path):
    for name in ("a", "b", "c"):
        store.intake.enqueue(CallMeta(), [tmp_path / f"{name}.raw"])
    short = store.jobs.claim("dead", lease_seconds=5, now=T0)
    long = store.jobs.claim("alive", lease_seconds=500, now=T0)

    assert store.jobs.recover_stale_leases(now=T0 + 4) == 0
    assert store.jobs.recover_stale_leases(now=T0 + 6) == 1
    recovered = store.jobs.get(short.id)
    assert recovered.state == "queued"
    assert recovered.lease_owner is recovered.lease_expires is None
    assert store.jobs.get(long.id).state == "running"
    # The oldest runnable job comes first.
    assert store.jobs.claim("w", 60, now=T0 + 6).id == short.id


def test_jobs_lists_newest_first_and_filters_by_state(store, tmp_path):
    ids = [store.intake.enqueue(CallMeta(), [tmp_path / f"{i}.raw"]).job_id for i in range(3)]
    store.jobs.claim("w", 60)
    assert [job.id for job in store.jobs.all()] == ids[::-1]
    assert [job.id for job in store.jobs.all(["running"])] == [ids[0]]
    assert [job.id for job in store.jobs.all(limit=1)] == [ids[2]]
    assert store.jobs.queue_stats() == dict(queued=2, running=1, done=0, failed=0, quarantined=0)


def test_a_store_can_be_shared_with_a_heartbeat_thread(store, queued):
    job = store.jobs.claim("w1", 60)
    beats = []
    thread = threading.Thread(target=lambda: beats.append(store.jobs.heartbeat(job.id, "w1", 60, 0.25)))
    thread.start()
    thread.join()
    assert beats == [True] and store.jobs.get(job.id).progress == 0.25
