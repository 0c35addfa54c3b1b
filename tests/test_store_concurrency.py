"""Two worker processes on one database file: every job done once, never by both."""

import json
import multiprocessing
import time

from appliance.store import Store
from appliance.transcript.model import CallMeta, Speaker, Transcript, Turn

JOBS = 40


def _work(barrier, db_path, worker_id, out_path):
    claims = []
    with Store(db_path) as store:
        barrier.wait()  # start together, so the two really compete for claims
        while (job := store.jobs.claim(worker_id, lease_seconds=300)) is not None:
            claims.append(job.id)
            time.sleep(0.002)  # "transcribe" outside a transaction: the other gets turns
            transcript = Transcript(
                "en", "test", "none", 1.0, (Speaker(0, "A"),),
                (Turn(0, 0.0, 1.0, f"job {job.id} by {worker_id}"),), job.meta,
            )
            assert store.jobs.heartbeat(job.id, worker_id, 300, progress=0.5)
            assert store.jobs.finish(job.id, worker_id, transcript)
    out_path.write_text(json.dumps(claims))


def test_two_worker_processes_do_every_job_exactly_once(tmp_path):
    db_path = tmp_path / "shared.db"
    with Store(db_path) as store:
        jobs = {
            store.intake.enqueue(CallMeta(uniqueid=f"{n}.1"), [tmp_path / f"{n}.raw"]).job_id
            for n in range(JOBS)
        }

    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(2)
    outputs = [tmp_path / "w1.json", tmp_path / "w2.json"]
    workers = [
        ctx.Process(target=_work, args=(barrier, db_path, f"w{i}", out))
        for i, out in enumerate(outputs, start=1)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    assert [worker.exitcode for worker in workers] == [0, 0]

    first, second = (json.loads(out.read_text()) for out in outputs)
    assert not set(first) & set(second)
    assert sorted(first + second) == sorted(jobs)
    with Store(db_path) as store:
        assert store.jobs.queue_stats()["done"] == JOBS
        assert store.transcripts.count() == JOBS
        for job in store.jobs.all(limit=JOBS):
            assert store.transcripts.count(job.recording_id) == 1
