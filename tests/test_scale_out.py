"""Remote workers for real: a box, two worker machines and one cut off from the box, as network
namespaces on this machine; RabbitMQ, the box's web server and dispatcher, and Celery workers
as the real `appliance` processes. Forty recordings are each transcribed exactly once,
though a worker is SIGKILLed mid-job and the broker and the box restarted during the run; the
worker that cannot reach the box gets no audio."""

import signal
from pathlib import Path

import pytest

from appliance.store import Store
from appliance.transcript.model import CallMeta
from support.scale import Site, missing, short_prompts, wait_until
from support.processes import unavailable

pytestmark = [pytest.mark.model, pytest.mark.slow]

RECORDINGS = 40
SCRATCH = Path("/dev/shm")
BOX = dict(lease_seconds=10, poll_interval_seconds=0.3, broker_window=10)


@pytest.fixture(scope="module")
def site(tmp_path_factory, models_dir):
    reason = missing()
    if reason:
        unavailable(reason)
    with Site(tmp_path_factory.mktemp("site"), models_dir, workers=2, cut_off=1) as site:
        yield site


def _done(store: Store) -> int:
    return store.queue_stats()["done"]


def _busy_on(store: Store, pid: int):
    """The job the worker with this pid reports progress on, if any."""
    return next((w.job_id for w in store.workers.all() if w.name.endswith(f":{pid}") and w.job_id), None)


def test_every_recording_is_transcribed_once_through_a_killed_worker_and_broker_and_box_restarts(site):
    site.start_broker()
    (site.root / "box").mkdir()
    with Store(site.root / "box" / "appliance.db") as store:
        queued = [store.enqueue_recording(CallMeta(uniqueid=f"scale-{i}", caller="+49 30 5550100", callee="201"),
                                          [path], {"language": "en"})
                  for i, path in enumerate(short_prompts(RECORDINGS))]
        site.start_box(**BOX)
        first = site.start_worker(1)
        site.start_worker(2)
        cut_off = site.start_worker(3)

        # Worker 1 killed while it holds a job; a fresh one takes its place.
        killed_job = wait_until(lambda: _busy_on(store, first.pid), "worker 1 to start a job", 180, every=0.05)
        site.kill("worker1", signal.SIGKILL)
        site.start_worker(1, name="worker1-again")

        # The broker restarted (a clean service restart) with work still queued in it.
        wait_until(lambda: _done(store) >= RECORDINGS // 3, "a third of the jobs", 240)
        assert _done(store) < RECORDINGS, "the broker must restart while work is left"
        site.stop_broker()
        site.start_broker()

        # The box restarted too (web server and dispatcher): what was queued resumes.
        wait_until(lambda: _done(store) >= 2 * RECORDINGS // 3, "two thirds of the jobs", 240)
        assert _done(store) < RECORDINGS, "the box must restart while work is left"
        site.kill("serve", signal.SIGTERM)
        site.kill("dispatcher", signal.SIGTERM)
        site.start_box(**BOX)

        wait_until(lambda: _done(store) == RECORDINGS, "every job to be done", 300, every=0.5)
        stats = store.queue_stats()
        assert stats == {**dict.fromkeys(stats, 0), "done": RECORDINGS}
        texts = []
        for result in queued:
            assert store.transcript_count(result.recording_id) == 1
            texts.append(store.transcript(result.call_id).text.strip())
        assert all(texts)
        assert store.job(killed_job).state == "done"
        # Each stored result is counted for the worker that sent it: 40 in all, none by the
        # cut-off worker, which never reported to the box.
        workers = store.workers.all()
        assert sum(w.jobs_done for w in workers) == RECORDINGS
        assert not [w for w in workers if w.name.endswith(f":{cut_off.pid}")]

    assert "the box cannot be reached" in site.log("worker3"), "the cut-off worker must have been handed tickets"
    for name in ("worker1-again", "worker2", "worker3"):
        site.kill(name, signal.SIGTERM)
    # The killed worker's audio was deleted by its successor; the others' after each job.
    assert not [p for p in SCRATCH.glob("appliance-job-*") if p.name.split("-")[2] in
                {str(first.pid), str(cut_off.pid)}]
    # Worker logs name jobs and durations: never a call's number or a transcript's words.
    for name in ("worker1", "worker1-again", "worker2", "worker3"):
        log = site.log(name)
        assert "5550100" not in log and not [text for text in texts if text in log]
