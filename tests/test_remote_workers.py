"""Remote workers without a broker: the box's dispatcher window, and a remote worker working
tickets against a real HTTP box (the e2e test with RabbitMQ is tests/test_scale_out.py)."""

import os
import re
import subprocess
import threading
import time

import pytest
from werkzeug.serving import make_server

from appliance.jobs.contract import REMOTE_PREFIX
from appliance.jobs.dispatch import Dispatcher, hand_out
from appliance.jobs.remote import SCRATCH_PREFIX, Box, BoxAway, RemoteWorker, remove_leftovers
from appliance.transcript.model import CallMeta, Recognition, Segment, Word
from support.web import write_wav


class ParrotEngine:
    """Hears the same words on every channel, and counts how often it was asked."""

    engine, model, device = "fake", "parrot-1", "cpu"

    def __init__(self) -> None:
        self.calls = 0

    def recognise(self, samples, *, language, hotwords=None, on_progress=None) -> Recognition:
        self.calls += 1
        return Recognition(language, (Segment(0.1, 0.9, "hello box", (Word(0.1, 0.5, " hello", 0.9),
                                                                        Word(0.5, 0.9, " box", 0.9))),))


@pytest.fixture
def queued(store, tmp_path):
    """Three calls waiting."""
    return [store.intake.enqueue(CallMeta(uniqueid=f"r{i}"), [write_wav(tmp_path / f"r{i}.wav")])
            for i in range(3)]


def test_the_dispatcher_keeps_at_most_a_window_of_jobs_in_the_broker(store, make_settings, queued):
    settings = make_settings(broker_window=2)
    sent = []
    dispatcher = Dispatcher(settings, store, sent.append)
    assert dispatcher.run_once() == 2 and dispatcher.run_once() == 0
    assert [t.job_id for t in sent] == [queued[0].job_id, queued[1].job_id]
    assert store.jobs.queue_stats()["queued"] == 1
    # One comes back done: the next one goes out.
    assert store.jobs.store_result(sent[0].job_id, _transcript(store, sent[0].job_id)) == "stored"
    assert dispatcher.run_once() == 1 and sent[-1].job_id == queued[2].job_id


def test_a_voicemail_queued_behind_a_backlog_is_handed_out_first(store, make_settings, queued, tmp_path):
    voicemail = store.intake.enqueue(CallMeta(uniqueid="vm-1", kind="voicemail"), [write_wav(tmp_path / "vm.wav")])
    sent = []
    Dispatcher(make_settings(broker_window=1), store, sent.append).run_once()
    assert [t.job_id for t in sent] == [voicemail.job_id] and sent[0].priority == 9


def test_a_job_the_broker_did_not_take_stays_queued_and_keeps_its_attempts(store, settings, queued):
    def broker_down(ticket):
        raise ConnectionRefusedError("no broker")

    assert Dispatcher(settings, store, broker_down).run_once() == 0
    job = store.jobs.get(queued[0].job_id)
    assert (job.state, job.attempts, job.lease_owner) == ("queued", 0, None)
    assert store.jobs.count_held(REMOTE_PREFIX) == 0


def test_a_ticket_waits_in_the_broker_under_a_long_lease_cut_short_once_a_worker_starts(
        store, make_settings, queued, box):
    settings = make_settings(broker_wait_seconds=1800, lease_seconds=60)
    ticket = hand_out(store, settings, settings.broker_wait_seconds)
    job = store.jobs.get(ticket.job_id)
    assert job.lease_expires - job.updated_at == pytest.approx(1800)
    Box(box.url, ticket).post("/progress", {"progress": 0.0})
    job = store.jobs.get(ticket.job_id)
    assert job.lease_expires - job.updated_at == pytest.approx(60)


class LiveBox:
    def __init__(self, app):
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.thread.join()


@pytest.fixture
def box(app):
    server = LiveBox(app)
    yield server
    server.close()


def _transcript(store, job_id):
    from appliance.transcript.model import Speaker, Transcript, Turn

    meta = store.jobs.get(job_id).meta
    return Transcript("en", "fake", "parrot-1", 1.0, (Speaker(0, "Caller", "caller"),),
                      (Turn(0, 0.0, 1.0, "hi", ()),), meta)


def test_a_remote_worker_transcribes_a_ticket_once_and_keeps_no_audio(store, settings, queued, box, tmp_path,
                                                                      admin_client):
    engine = ParrotEngine()
    worker = RemoteWorker(settings, box.url, engine)
    worker.scratch = tmp_path / "scratch"
    worker.scratch.mkdir()
    ticket = hand_out(store, settings)

    assert worker.run(ticket) == "stored"
    assert "hello box" in store.transcripts.get(queued[0].call_id).text
    assert list(worker.scratch.iterdir()) == []
    # Redelivered by the broker after the result was stored: the box refuses the audio.
    assert worker.run(ticket) == "superseded" and engine.calls == 2  # two channels, once
    assert store.transcripts.count(queued[0].recording_id) == 1

    page = admin_client.get("/jobs").get_data(as_text=True)
    assert worker.name in page and "parrot-1 (cpu)" in page
    (seen,) = store.workers.all()
    assert (seen.jobs_done, seen.job_id, seen.audio_seconds) == (1, None, pytest.approx(1.0))


def test_a_worker_whose_box_is_away_gives_the_ticket_back_untouched(store, settings, queued, box):
    ticket = hand_out(store, settings)
    box.close()
    engine = ParrotEngine()
    with pytest.raises(BoxAway):
        RemoteWorker(settings, box.url, engine).run(ticket)
    assert engine.calls == 0 and store.jobs.get(ticket.job_id).state == "running"


def test_a_failure_on_the_worker_goes_back_to_the_box_with_its_reason(store, settings, queued, box):
    class Broken(ParrotEngine):
        def recognise(self, samples, **kw):
            raise RuntimeError("the decoder crashed")

    ticket = hand_out(store, settings)
    assert RemoteWorker(settings, box.url, Broken()).run(ticket) == "failed"
    job = store.jobs.get(ticket.job_id)
    assert job.state == "queued" and "RuntimeError" in job.error
    # With its case, which the box's pages say in German; one the box could not use is dropped.
    assert (job.error_code, job.error_values) == ("remote-internal-error",
                                                 {"worker": RemoteWorker(settings, box.url, Broken()).name,
                                                  "error": "RuntimeError"})
    from appliance.web.worker import _error_case

    for odd in ({"code": "x", "values": {"a": ["nested"]}}, {"code": ["x"]}, {"code": "x" * 41},
                {"code": "x", "values": "text"}):
        assert _error_case(odd) == (None, None)


def test_audio_a_killed_run_left_behind_is_deleted_at_the_next_start(tmp_path):
    gone = _dead_pid()
    (tmp_path / f"{SCRATCH_PREFIX}{gone}-7-abc").mkdir()
    (tmp_path / f"{SCRATCH_PREFIX}{gone}-7-abc" / "0.wav").write_bytes(b"RIFF")
    # A worker still running on this machine keeps its job's audio; other folders stay too.
    (tmp_path / f"{SCRATCH_PREFIX}{os.getpid()}-8-def").mkdir()
    (tmp_path / "someone-else").mkdir()
    assert remove_leftovers(tmp_path) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{SCRATCH_PREFIX}{os.getpid()}-8-def", "someone-else"]


def _dead_pid() -> int:
    """The pid of a process that has exited."""
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def test_the_broker_queue_is_durable_prioritised_and_acked_after_the_result():
    from appliance.jobs.broker import celery_app

    conf = celery_app("amqp://user:secret@127.0.0.1:1//").conf
    (queue,) = conf.task_queues
    assert queue.durable and queue.queue_arguments == {"x-max-priority": 9}
    assert conf.task_acks_late and conf.task_reject_on_worker_lost and conf.worker_prefetch_multiplier == 1
    assert conf.task_default_delivery_mode == "persistent" and conf.broker_transport_options["confirm_publish"]


def test_the_jobs_page_shows_each_announced_worker_working_idle_or_offline(store, admin_client, monkeypatch):
    from appliance.jobs.presence import record

    record(store, {"worker": "gpu-box:7", "model": "whisper-base", "device": "cuda", "job": None})
    record(store, {"worker": "cpu-box:8", "model": "whisper-base", "device": "cpu", "job": 3})
    with monkeypatch.context() as clock:  # last heard from two minutes ago (offline after 60 s)
        clock.setattr(time, "time", lambda now=time.time(): now - 120)
        record(store, {"worker": "unplugged:9", "model": "whisper-base", "device": "cpu", "job": 4})
    # What is not an announcement is dropped.
    for junk in ({"worker": 5}, {"worker": "", "job": None}, {"worker": "x:1", "job": "4"}, {"job": 1}):
        record(store, junk)

    page = admin_client.get("/jobs").get_data(as_text=True)
    states = dict(re.findall(r'data-worker="([^"]+)" data-state="(\w+)"', page))
    assert states == {"gpu-box:7": "idle", "cpu-box:8": "busy", "unplugged:9": "offline"}
    assert "whisper-base (cuda)" in page
