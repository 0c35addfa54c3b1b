"""Remote workers for real: a box, two worker machines and one cut off from the box, as network
namespaces on this machine; RabbitMQ, the box's web server and dispatcher, and Celery workers
as the real `appliance` processes. Forty recordings are each transcribed exactly once,
though a worker is SIGKILLed mid-job and the broker and the box restarted during the run; the
worker that cannot reach the box gets no audio. Idle workers keep reporting; the killed one
goes offline."""

import signal
import time
from pathlib import Path

import pytest

from appliance.store import Store
from appliance.transcript.model import CallMeta
from support.scale import Site, missing, short_prompts, wait_until
from support.processes import unavailable

pytestmark = [pytest.mark.model, pytest.mark.slow]

RECORDINGS = 40
SCRATCH = Path("/dev/shm")
BOX = dict(lease_seconds=10, poll_interval_seconds=0.3, broker_window=10, worker_offline_seconds=5)
# Delivery is under test, not accuracy: short prompts, decoded greedily, cost a worker least.
WORKER = dict(beam_size=1, worker_heartbeat_seconds=1)


@pytest.fixture(scope="module")
def site(tmp_path_factory, models_dir):
    reason = missing()
    if reason:
        unavailable(reason)
    with Site(tmp_path_factory.mktemp("site"), models_dir, workers=2, cut_off=1) as site:
        yield site


def _done(store: Store) -> int:
    return store.jobs.queue_stats()["done"]


def _workers(store: Store) -> dict:
    """The workers the box knows, by pid (they are named host:pid)."""
    return {int(w.name.rpartition(":")[2]): w for w in store.workers.all()}


def _busy_on(store: Store, pid: int):
    """The job the worker with this pid reports it holds, if any."""
    worker = _workers(store).get(pid)
    return worker and worker.job_id


def _state(store: Store, pid: int, since: float = 0.0) -> str | None:
    """The worker's state on the jobs page, if it was heard from after `since`."""
    worker = _workers(store).get(pid)
    return worker.state(time.time(), BOX["worker_offline_seconds"]) if worker and worker.last_seen > since else None


def test_every_recording_is_transcribed_once_through_a_killed_worker_and_broker_and_box_restarts(site):
    (site.root / "box").mkdir()
    with Store(site.root / "box" / "appliance.db") as store:
        queued = [store.intake.enqueue(CallMeta(uniqueid=f"scale-{i}", caller="+49 30 5550100", callee="201"),
                                          [path], {"language": "en"})
                  for i, path in enumerate(short_prompts(RECORDINGS, 1.0, 2.5))]
        # Everything starts at once, as after a power cut: the box and the workers load while
        # RabbitMQ boots and connect when it listens.
        site.start_broker(wait=False)
        first = site.start_worker(1, **WORKER)
        second = site.start_worker(2, **WORKER)
        cut_off = site.start_worker(3, **WORKER)
        site.start_box(**BOX)

        # Worker 1 killed while it holds a job; a fresh one takes its place.
        killed_job = wait_until(lambda: _busy_on(store, first.pid), "worker 1 to start a job", 180, every=0.05)
        site.kill("worker1", signal.SIGKILL)
        again = site.start_worker(1, name="worker1-again", **WORKER)

        # The cut-off worker is handed tickets and gets no audio; it shows on the jobs page all
        # the same (it reaches the broker). Stopped once it has: a ticket it gives back would
        # come back to it.
        wait_until(lambda: "the box cannot be reached" in site.log("worker3") and _state(store, cut_off.pid),
                   "the cut-off worker to be handed a ticket and to announce itself", 120)
        site.kill("worker3", signal.SIGTERM)

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
        all_done = time.time()
        stats = store.jobs.queue_stats()
        assert stats == {**dict.fromkeys(stats, 0), "done": RECORDINGS}
        texts = []
        for result in queued:
            assert store.transcripts.count(result.recording_id) == 1
            texts.append(store.transcripts.get(result.call_id).text.strip())
        assert all(texts)
        assert store.jobs.get(killed_job).state == "done"
        # Each stored result is counted for the worker that sent it: 40 in all, none by the
        # cut-off worker, which never reached the box.
        workers = _workers(store)
        assert sum(w.jobs_done for w in workers.values()) == RECORDINGS
        assert workers[cut_off.pid].jobs_done == 0
        # With nothing left to do the workers still report, through the broker (restarted since)
        # to the box (restarted too); the killed one shows offline.
        wait_until(lambda: _state(store, again.pid, all_done) == _state(store, second.pid, all_done) == "idle"
                   and _state(store, first.pid) == "offline", "the idle workers to report, the killed one to be offline", 60)

    # The killed worker's audio was deleted by its successor; the others' after each job.
    assert not [p for p in SCRATCH.glob("appliance-job-*") if p.name.split("-")[2] in
                {str(first.pid), str(cut_off.pid)}]
    # Worker logs name jobs and durations: never a call's number or a transcript's words.
    for name in ("worker1", "worker1-again", "worker2", "worker3"):
        log = site.log(name)
        assert "5550100" not in log and not [text for text in texts if text in log]
