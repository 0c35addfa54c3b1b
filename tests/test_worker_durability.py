"""Workers are real processes: killed mid-job they lose nothing; two never duplicate work."""

import json
import signal
from pathlib import Path

import numpy as np
import pytest

from appliance import democall
from appliance.store import Store
from appliance.transcript.model import CallMeta
from support.processes import wait_for

pytestmark = pytest.mark.model

@pytest.fixture
def store(worker_env):
    data = Path(worker_env["APPLIANCE_DATA_DIR"])
    data.mkdir(parents=True, exist_ok=True)
    with Store(data / "appliance.db") as store:
        yield store


def test_worker_killed_mid_job_is_resumed_by_the_next_with_exactly_one_transcript(tmp_path, store, start_worker):
    # A long call (the demo conversation three times), so the kill lands inside recognition.
    call = np.concatenate([democall.mix_call()] * 3)
    path = democall.write_stereo_wav(call, tmp_path / "long.wav")
    queued = store.intake.enqueue(CallMeta(uniqueid="long-1", caller="100", callee="200"), [path])

    first = start_worker()
    wait_for(lambda: (job := store.jobs.get(queued.job_id)).state == "running" and job.progress > 0,
             "the first worker to report progress")
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert store.jobs.get(queued.job_id).state == "running"  # held by a dead worker's lease

    start_worker()
    done = wait_for(lambda: (job := store.jobs.get(queued.job_id)).state == "done" and job, "the job to finish")

    assert done.attempts == 2
    assert store.transcripts.count(queued.recording_id) == 1
    text = store.transcripts.get(queued.call_id).text.lower()
    assert text.count("dashwood") == 3  # every copy of the sentence, each once


def test_two_workers_on_one_queue_never_transcribe_a_recording_twice(tmp_path, store, start_worker):
    prompts = ["vm-intro", "vm-nobodyavail", "tt-weasels", "privacy-prompt", "dir-intro", "queue-periodic-announce"]
    queued = []
    for n, prompt in enumerate(prompts):
        script = (democall.Utterance(1, democall.ASTERISK_SOUNDS / f"{prompt}.wav", ""),)
        path = democall.write_stereo_wav(democall.mix_call(script), tmp_path / f"{prompt}.wav")
        queued.append(store.intake.enqueue(CallMeta(uniqueid=f"two-{n}"), [path]))

    workers = [start_worker(), start_worker()]
    wait_for(lambda: store.jobs.queue_stats()["done"] == len(prompts), "all jobs to finish")

    for item in queued:
        assert store.transcripts.count(item.recording_id) == 1
        assert store.jobs.get(item.job_id).attempts == 1  # claimed once, by one worker
    assert all(w.poll() is None for w in workers)


def test_recording_dropped_into_the_spool_with_a_ticket_is_transcribed(tmp_path, worker_env, store, start_worker):
    spool = Path(worker_env["APPLIANCE_DATA_DIR"]) / "spool"
    spool.mkdir(parents=True, exist_ok=True)
    start_worker()
    call = democall.mix_call()
    # As Asterisk's hook does it: the ticket first, the finished recording renamed into place.
    (spool / "1700000001.7.json").write_text(json.dumps(
        {"uniqueid": "1700000001.7", "caller": "+4930999", "callee": "201", "direction": "inbound"}))
    partial = democall.write_mixmonitor_raw(call, spool / ".1700000001.7.raw.part")
    partial.rename(spool / "1700000001.7.raw")

    summary = wait_for(lambda: next((c for c in store.calls.page() if c.state == "done"), None), "the spooled call")
    assert (summary.uniqueid, summary.caller, summary.callee) == ("1700000001.7", "+4930999", "201")
    transcript = store.transcripts.get(summary.id)
    assert [s.label for s in transcript.speakers] == ["+4930999", "201"]
    assert "dashwood" in transcript.text.lower()
