"""Bad input never crashes a service and never loses data: a clear error a person can read,
stored with the job (DESIGN.md, "Errors and data safety").

Every bad recording is written here by a small generator; none is committed. Each goes the
whole way a real one goes: store.intake.enqueue, then a real Worker.run_once.
"""

from __future__ import annotations

import os
import shutil
import signal
import struct
import subprocess
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
import soundfile

from appliance import democall
from appliance.jobs.worker import Worker
from appliance.transcript.model import Recognition
from appliance.store import Store
from appliance.web.labels import ERRORS
from appliance.transcript.model import CallMeta
from support.processes import APPLIANCE

GOOD_RECORDING = Path("/usr/share/asterisk/sounds/en/vm-intro.wav")  # 5.65 s, 8 kHz mono
# vm-intro is 5.65 s long; the "too long" inputs are 10 s. Every test here runs under this limit.
MAX_SECONDS = 8.0
FINAL_STATES = {"done", "failed", "quarantined"}

needs_good_recording = pytest.mark.skipif(
    not GOOD_RECORDING.is_file(), reason=f"{GOOD_RECORDING} (Debian package asterisk-core-sounds-en) is missing"
)


# --- generators: each writes one kind of bad input into a folder -----------------------------


def _tone(rate: int, seconds: float, channels: int = 1) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    wave = 0.3 * np.sin(2 * np.pi * 440 * t)
    return np.stack([wave] * channels, axis=1)


def _wav(path: Path, rate: int = 8000, seconds: float = 1.0, channels: int = 1, **kw) -> Path:
    soundfile.write(path, _tone(rate, seconds, channels), rate, **kw)
    return path


def _wav_header(rate: int, channels: int, bits: int, data_bytes: int) -> bytes:
    block = channels * bits // 8
    return (
        b"RIFF" + struct.pack("<I", 36 + data_bytes) + b"WAVE"
        + b"fmt " + struct.pack("<IHHIIHH", 16, 1, channels, rate, rate * block, block, bits)
        + b"data" + struct.pack("<I", data_bytes)
    )


def _png() -> bytes:
    """A real 4x4 PNG image: FFmpeg opens it, and finds no sound in it."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\x80" * 12 for _ in range(4))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def _random_bytes(size: int) -> bytes:
    # Seeded: the same bytes every run, so a test never passes or fails by luck.
    return np.random.default_rng(20240501).bytes(size)


def empty_file(folder):
    path = folder / "empty.wav"
    path.touch()
    return [path]


def wav_header_cut_at_20_bytes(folder):
    path = folder / "cut.wav"
    path.write_bytes(_wav(folder / "whole.wav").read_bytes()[:20])
    return [path]


def wav_with_zero_frames(folder):
    path = folder / "no-frames.wav"
    soundfile.write(path, np.zeros((0, 2)), 8000)
    return [path]


def wav_header_without_data(folder):
    path = folder / "header-only.wav"
    path.write_bytes(_wav_header(8000, 1, 16, 16000))
    return [path]


def wav_with_sample_rate_zero(folder):
    path = folder / "rate-zero.wav"
    path.write_bytes(_wav_header(0, 1, 16, 16000) + bytes(16000))
    return [path]


def plain_text_named_wav(folder):
    path = folder / "notes.wav"
    path.write_text("Call back Mrs Müller about the invoice.\n" * 20)
    return [path]


def random_bytes_named_wav(folder):
    path = folder / "noise.wav"
    path.write_bytes(_random_bytes(5000))
    return [path]


def random_bytes_named_mp3(folder):
    path = folder / "noise.mp3"
    path.write_bytes(_random_bytes(5000))
    return [path]


def html_named_ogg(folder):
    path = folder / "download.ogg"
    path.write_text("<!DOCTYPE html><html><head><title>404 Not Found</title></head>"
                    "<body><h1>Not Found</h1></body></html>\n" * 3)
    return [path]


def png_image_named_wav(folder):
    path = folder / "photo.wav"
    path.write_bytes(_png())
    return [path]


def raw_stereo_with_odd_byte_count(folder):
    # MixMonitor D: 4-byte frames (two s16le samples); 6 bytes is one and a half frames.
    path = folder / "1700000000.1-mix.raw"
    path.write_bytes(np.full(1001, 1000, "<i2").tobytes() + b"\x01")
    return [path]


def sln_mono_with_odd_byte_count(folder):
    path = folder / "1700000000.2-in.sln"
    path.write_bytes(np.full(1000, 1000, "<i2").tobytes() + b"\x01")
    return [path]


def sln7_unsupported_rate(folder):
    path = folder / "1700000000.3.sln7"
    path.write_bytes(np.full(7000, 1000, "<i2").tobytes())
    return [path]


def raw16_unknown_extension(folder):
    path = folder / "1700000000.4.raw16"
    path.write_bytes(np.full(16000, 1000, "<i2").tobytes())
    return [path]


def wav_at_4000_hz(folder):
    return [_wav(folder / "narrow.wav", rate=4000)]


def wav_at_400000_hz(folder):
    path = folder / "ultrasonic.wav"
    path.write_bytes(_wav_header(400000, 1, 16, 8000) + np.full(4000, 1000, "<i2").tobytes())
    return [path]


def wav_with_three_channels(folder):
    return [_wav(folder / "three.wav", channels=3)]


def digital_silence_stereo(folder):
    path = folder / "silent.wav"
    soundfile.write(path, np.zeros((8000 * 3, 2)), 8000, subtype="PCM_16")
    return [path]


def wav_longer_than_limit(folder):
    return [_wav(folder / "long.wav", seconds=10.0)]


def raw_longer_than_limit(folder):
    path = folder / "1700000000.5-long.raw"
    path.write_bytes(np.full(8000 * 2 * 10, 1000, "<i2").tobytes())  # 10 s of 8 kHz stereo
    return [path]


def huge_sparse_raw(folder):
    # 1 GiB that takes no disk: rejected from its size, so its samples are never read.
    path = folder / "1700000000.6-huge.raw"
    with path.open("wb") as fh:
        fh.truncate(1 << 30)
    return [path]


def float_wav_with_nan(folder):
    samples = _tone(8000, 1.0).astype(np.float32)
    samples[100] = np.nan
    path = folder / "nan.wav"
    soundfile.write(path, samples, 8000, subtype="FLOAT")
    return [path]


def rt_pair_with_a_stereo_file(folder):
    return [_wav(folder / "1700000000.7-r.wav"), _wav(folder / "1700000000.7-t.wav", channels=2)]


def three_files_for_one_recording(folder):
    return [_wav(folder / f"part{i}.wav") for i in range(3)]


def missing_file(folder):
    return [folder / "never-written.wav"]


def a_directory(folder):
    path = folder / "recordings.wav"
    path.mkdir()
    return [path]


def _delete(paths):
    for path in paths:
        path.unlink()


@dataclass(frozen=True)
class BadKind:
    id: str
    make: Callable[[Path], list[Path]]
    phrase: str  # what job.error must say, so a person knows what is wrong
    options: dict = field(default_factory=dict)
    after_enqueue: Callable[[list[Path]], None] | None = None
    names_file: bool = True  # the error names the file it is about

    def write(self, folder: Path) -> tuple[list[Path], dict]:
        folder.mkdir(parents=True, exist_ok=True)
        return self.make(folder), self.options


BAD_KINDS = [
    BadKind("empty-file", empty_file, "file is empty (0 bytes)"),
    BadKind("wav-header-cut-at-20-bytes", wav_header_cut_at_20_bytes, "WAV header is truncated or damaged"),
    BadKind("wav-with-zero-frames", wav_with_zero_frames, "contains no audio samples"),
    BadKind("wav-header-without-data", wav_header_without_data, "contains no audio samples"),
    BadKind("wav-with-sample-rate-zero", wav_with_sample_rate_zero, "WAV header is truncated or damaged"),
    BadKind("plain-text-named-wav", plain_text_named_wav, "not an audio file"),
    BadKind("random-bytes-named-wav", random_bytes_named_wav, "not an audio file"),
    BadKind("random-bytes-named-mp3", random_bytes_named_mp3, "not an audio file"),
    BadKind("html-named-ogg", html_named_ogg, "not an audio file"),
    BadKind("png-image-named-wav", png_image_named_wav, "has no audio stream"),
    BadKind("raw-stereo-odd-byte-count", raw_stereo_with_odd_byte_count,
            "not a whole number of 16-bit 2-channel (MixMonitor D) frames"),
    BadKind("sln-mono-odd-byte-count", sln_mono_with_odd_byte_count,
            "not a whole number of 16-bit mono frames", options={"channels": 1}),
    BadKind("sln7-unsupported-rate", sln7_unsupported_rate, "sample rate 7000 Hz is not supported"),
    BadKind("raw16-unknown-extension", raw16_unknown_extension, "unknown raw format '.raw16'"),
    BadKind("wav-at-4000-hz", wav_at_4000_hz, "sample rate 4000 Hz is not supported"),
    BadKind("wav-at-400000-hz", wav_at_400000_hz, "sample rate 400000 Hz is not supported"),
    BadKind("wav-with-three-channels", wav_with_three_channels, "3 channels; expected 1 (mono) or 2"),
    BadKind("digital-silence-stereo", digital_silence_stereo, "no sound at all"),
    BadKind("wav-longer-than-limit", wav_longer_than_limit, "the limit is 0 min 08 s"),
    BadKind("raw-longer-than-limit", raw_longer_than_limit, "the limit is 0 min 08 s"),
    BadKind("huge-sparse-raw", huge_sparse_raw, "the limit is 0 min 08 s"),
    BadKind("float-wav-with-nan", float_wav_with_nan, "invalid samples (NaN or infinity)"),
    BadKind("rt-pair-with-a-stereo-file", rt_pair_with_a_stereo_file, "must be mono, it has 2 channels"),
    BadKind("three-files-for-one-recording", three_files_for_one_recording,
            "expected one recording file or an r()/t() pair, got 3 files", names_file=False),
    BadKind("file-deleted-after-enqueue", wav_longer_than_limit, "file not found", after_enqueue=_delete),
    BadKind("missing-file", missing_file, "file not found"),
    BadKind("a-directory", a_directory, "is a folder"),
]


# --- fixtures ----------------------------------------------------------------------------------


@pytest.fixture
def bad_settings(make_settings):
    return make_settings(max_duration_seconds=MAX_SECONDS)


@pytest.fixture
def worker_store(bad_settings):
    """The store the worker's settings point at (its heartbeat opens the same database)."""
    with Store.open(bad_settings) as store:
        yield store


def _enqueue(store: Store, kind: BadKind, folder: Path):
    paths, options = kind.write(folder)
    result = store.intake.enqueue(CallMeta(uniqueid=f"bad-{kind.id}", caller="+4930123", callee="200"),
                                     paths, options)
    if kind.after_enqueue:
        kind.after_enqueue(paths)
    return result, [path for path in paths if path.exists()]


def _good_recording(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy(GOOD_RECORDING, folder / "1700000099.1-vm-intro.wav"))


def _transcript_text(store: Store, call_id: int) -> str:
    transcript = store.transcripts.get(call_id)
    assert transcript is not None
    return " ".join(turn.text for turn in transcript.turns).lower()


# --- one kind at a time --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", BAD_KINDS, ids=[kind.id for kind in BAD_KINDS])
def test_bad_input_is_quarantined_with_a_readable_reason_and_the_file_kept(
    kind, bad_settings, worker_store, engine, tmp_path
):
    result, existed = _enqueue(worker_store, kind, tmp_path / "in")
    sizes = {path: (path.stat().st_size if path.is_file() else None) for path in existed}
    worker = Worker(bad_settings, worker_store, engine)

    assert worker.run_once() is True

    job = worker_store.jobs.get(result.job_id)
    assert job.state == "quarantined", job.error
    assert kind.phrase in job.error
    assert "Traceback" not in job.error and "\n" not in job.error
    if kind.names_file:
        assert any(Path(path).name in job.error for path in job.paths), job.error
    assert job.attempts == 1
    assert job.lease_owner is None
    # Its case too, which the pages say in the reader's language (appliance/web/labels.py).
    assert job.error_code in ERRORS and ERRORS[job.error_code] % job.error_values
    # Shown with the call too, where the UI and `appliance calls` read it.
    call = worker_store.calls.get(result.call_id)
    assert (call.state, call.error) == ("quarantined", job.error)
    # Never dropped: the input is still there, byte for byte, and the job is not retried.
    for path, size in sizes.items():
        assert path.exists()
        assert (path.stat().st_size if path.is_file() else None) == size
    assert worker.run_once() is False
    assert worker_store.jobs.get(result.job_id).state == "quarantined"
    assert worker_store.transcripts.count() == 0


def test_there_are_at_least_fifteen_distinct_kinds_of_bad_input():
    assert len({kind.id for kind in BAD_KINDS}) == len(BAD_KINDS) >= 15


# --- the worker carries on ----------------------------------------------------------------------


@pytest.mark.model
@needs_good_recording
def test_after_a_batch_of_bad_inputs_the_same_worker_transcribes_a_good_recording(
    bad_settings, worker_store, engine, tmp_path
):
    queued = [(kind, _enqueue(worker_store, kind, tmp_path / kind.id)[0]) for kind in BAD_KINDS]
    good = worker_store.intake.enqueue(CallMeta(uniqueid="good-1", caller="+4930999", callee="200"),
                                          [_good_recording(tmp_path / "good")])
    worker = Worker(bad_settings, worker_store, engine)

    taken = 0
    while worker.run_once():
        taken += 1

    assert taken == len(BAD_KINDS) + 1
    for kind, result in queued:
        job = worker_store.jobs.get(result.job_id)
        assert (job.state, kind.phrase in (job.error or "")) == ("quarantined", True), (kind.id, job.error)
    assert worker_store.jobs.get(good.job_id).state == "done"
    assert "message" in _transcript_text(worker_store, good.call_id)
    assert worker_store.jobs.queue_stats() == {**dict.fromkeys(worker_store.jobs.queue_stats(), 0),
                                          "quarantined": len(BAD_KINDS), "done": 1}


# --- transient failures: retried with back-off, then failed with the reason ---------------------


class BoomEngine:
    """A recogniser that always breaks, as a crashed native library would."""

    engine = "fake"
    model = "boom"

    def __init__(self) -> None:
        self.calls = 0

    def recognise(self, samples, *, language, hotwords=None, on_progress=None) -> Recognition:
        self.calls += 1
        raise RuntimeError("boom")


@needs_good_recording
def test_a_transient_error_is_retried_then_failed_with_the_reason(make_settings, tmp_path):
    settings = make_settings(max_attempts=2, retry_backoff_seconds=0)
    recording = _good_recording(tmp_path / "in")
    engine = BoomEngine()
    with Store.open(settings) as store:
        result = store.intake.enqueue(CallMeta(uniqueid="boom-1"), [recording])
        worker = Worker(settings, store, engine=engine)

        assert worker.run_once() is True
        first = store.jobs.get(result.job_id)
        assert (first.state, first.attempts) == ("queued", 1)
        assert "boom" in first.error and "retried" in first.error

        assert worker.run_once() is True
        last = store.jobs.get(result.job_id)
        assert (last.state, last.attempts) == ("failed", 2)
        assert "RuntimeError: boom" in last.error and last.error_code == "internal-error"
        assert store.calls.get(result.call_id).error == last.error

        assert worker.run_once() is False
        assert engine.calls == 2
        assert store.transcripts.count() == 0
    assert recording.read_bytes() == GOOD_RECORDING.read_bytes()


@needs_good_recording
def test_a_transient_error_waits_out_its_back_off_before_the_next_attempt(make_settings, tmp_path):
    settings = make_settings(max_attempts=3, retry_backoff_seconds=30)
    with Store.open(settings) as store:
        result = store.intake.enqueue(CallMeta(uniqueid="boom-2"), [_good_recording(tmp_path / "in")])
        worker = Worker(settings, store, engine=BoomEngine())

        assert worker.run_once() is True
        job = store.jobs.get(result.job_id)
        assert job.state == "queued"
        assert job.not_before == pytest.approx(job.updated_at + 30, abs=1)
        assert "boom" in job.error
        # Not due yet: the worker leaves it alone instead of hammering a broken engine.
        assert worker.run_once() is False
        assert store.jobs.get(result.job_id).attempts == 1


# --- the real service: `appliance worker` and `appliance ingest` as processes -------------------


def _cli_env(data_dir: Path, models_dir: Path) -> dict:
    env = {key: value for key, value in os.environ.items() if not key.startswith("APPLIANCE_")}
    env.update(
        APPLIANCE_DATA_DIR=str(data_dir),
        APPLIANCE_MODELS_DIR=str(models_dir),
        APPLIANCE_POLL_INTERVAL_SECONDS="0.2",
        APPLIANCE_SPOOL_SETTLE_SECONDS="0",
        APPLIANCE_MAX_DURATION_SECONDS=str(MAX_SECONDS),
    )
    return env


def _appliance(*args, env, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([str(APPLIANCE), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120)


def _wait_for_final_states(db_path: Path, expected_jobs: int, worker: subprocess.Popen, deadline_s: float = 120.0):
    deadline = time.monotonic() + deadline_s
    with Store(db_path) as store:
        while time.monotonic() < deadline and worker.poll() is None:
            jobs = store.jobs.all()
            if len(jobs) == expected_jobs and all(job.state in FINAL_STATES for job in jobs):
                return {job.id: job for job in jobs}
            time.sleep(0.2)
        return {job.id: job for job in store.jobs.all()}


@pytest.mark.model
@pytest.mark.slow
@needs_good_recording
def test_the_worker_service_survives_bad_input_and_stops_cleanly_on_sigterm(tmp_path, models_dir):
    data_dir = tmp_path / "data"
    env = _cli_env(data_dir, models_dir)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    bad = {
        "empty": (empty_file(inbox)[0], "file is empty"),
        "text": (plain_text_named_wav(inbox)[0], "not an audio file"),
        "raw": (raw_stereo_with_odd_byte_count(inbox)[0], "not a whole number"),
        "silence": (digital_silence_stereo(inbox)[0], "no sound at all"),
        "long": (wav_longer_than_limit(inbox)[0], "the limit is"),
    }
    good = _good_recording(inbox)
    log_path = tmp_path / "worker.log"

    with log_path.open("w") as log:
        worker = subprocess.Popen([str(APPLIANCE), "-v", "worker"], env=env, cwd=tmp_path,
                                  stdout=log, stderr=subprocess.STDOUT)
        try:
            call_ids = {}
            for name, path in [*((name, path) for name, (path, _) in bad.items()), ("good", good)]:
                done = _appliance("ingest", "--uniqueid", f"cli-{name}", str(path), env=env, cwd=tmp_path)
                assert done.returncode == 0, done.stderr
                call_ids[name] = int(done.stdout.split()[1].rstrip(":"))

            jobs = _wait_for_final_states(data_dir / "appliance.db", len(call_ids), worker)

            assert worker.poll() is None, log_path.read_text()
            by_call = {job.call_id: job for job in jobs.values()}
            assert set(by_call) == set(call_ids.values()), log_path.read_text()
            for name, (path, phrase) in bad.items():
                job = by_call[call_ids[name]]
                assert job.state == "quarantined", (name, job.state, job.error)
                assert phrase in job.error, (name, job.error)
                assert path.exists()  # the original, and the appliance's own copy
                assert all(Path(copy).exists() for copy in job.paths)
            assert by_call[call_ids["good"]].state == "done", by_call[call_ids["good"]].error
            with Store(data_dir / "appliance.db") as store:
                assert "message" in _transcript_text(store, call_ids["good"])

            shown = _appliance("show", str(call_ids["silence"]), env=env, cwd=tmp_path)
            assert shown.returncode != 0
            assert shown.stdout == ""
            lines = shown.stderr.strip().splitlines()
            assert len(lines) == 1, shown.stderr
            assert "quarantined" in lines[0] and "no sound at all" in lines[0]

            shown = _appliance("show", str(call_ids["good"]), env=env, cwd=tmp_path)
            assert shown.returncode == 0 and "message" in shown.stdout.lower()
        finally:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
            try:
                exit_code = worker.wait(timeout=60)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
                raise
    assert exit_code == 0, log_path.read_text()


def test_ingest_refuses_a_missing_file_or_a_folder_with_one_line_and_queues_nothing(tmp_path, models_dir):
    env = _cli_env(tmp_path / "data", models_dir)
    folder = tmp_path / "a-folder.wav"
    folder.mkdir()
    for path, phrase in [(tmp_path / "nope.wav", "does not exist"), (folder, "is a directory")]:
        done = _appliance("ingest", str(path), env=env, cwd=tmp_path)
        assert done.returncode != 0
        assert phrase in done.stderr, done.stderr
        assert "Traceback" not in done.stderr
    db_path = tmp_path / "data" / "appliance.db"
    if db_path.exists():
        with Store(db_path) as store:
            assert store.jobs.all() == []


def test_recording_that_keeps_killing_workers_is_set_aside_with_a_reason(settings, store, engine):
    """Attempts that died silently (SIGKILL, OOM) count; past the limit the job fails, visibly."""
    path = democall.write_stereo_wav(democall.mix_call(), settings.data_dir / "call.wav")
    queued = store.intake.enqueue(CallMeta(uniqueid="poison"), [path])
    for attempt in range(settings.max_attempts):
        # A worker claims it and dies: its lease runs out.
        assert store.jobs.claim(f"dead-{attempt}", lease_seconds=0.01)
        time.sleep(0.02)

    Worker(settings, store, engine).run_once()

    job = store.jobs.get(queued.job_id)
    assert job.state == "failed"
    assert "stopped" in job.error and "killed or out of memory" in job.error
    assert store.transcripts.count(queued.recording_id) == 0
