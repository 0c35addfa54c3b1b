"""Scale-out benchmark: throughput with 1 and 2 remote workers against the local worker.

    .venv/bin/python bench/scale.py [--count N] [--keep DIR]        (as root)

Builds the site of tests/test_scale_out.py on this machine (network namespaces, a real
RabbitMQ, the real `appliance` processes) and runs the same N recordings three times, each
worker with one thread:

  local     the box's own `appliance worker` (no broker)
  remote-1  the box hands the jobs to one `appliance worker --remote` in its own namespace
  remote-2  the same with two remote workers

Each run first lets every worker transcribe one recording (the model loaded, the caches
warm), then times from queueing the N recordings to the last one stored. It prints audio
hours per wall hour for each, the ratios 2 workers / 1 worker and 1 remote / local, and the
remote overhead per job of remote-1: its wall time per job less the time the worker spent on
the job (fetching the audio and transcribing it, as it reports with the result), i.e. the
result's write-back, the acknowledgement and the next ticket's delivery, as a share of that
time. (The local worker also runs the call insights after each job; with remote workers the
box's web process runs them, beside the worker.) Figures only; it asserts nothing.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = BENCH_DIR.parent
sys.path[:0] = [str(PROJECT_ROOT / "tests"), str(PROJECT_ROOT)]

from support.scale import APPLIANCE, Site, missing, short_prompts, wait_until  # noqa: E402

from appliance.store import Store  # noqa: E402
from appliance.transcript.model import CallMeta  # noqa: E402

MODELS_DIR = PROJECT_ROOT / "var" / "models"
BOX_SETTINGS = dict(lease_seconds=30, poll_interval_seconds=0.2)


def _enqueue(store: Store, paths: list[Path], tag: str) -> float:
    for i, path in enumerate(paths):
        store.intake.enqueue(CallMeta(uniqueid=f"{tag}-{i}"), [path], {"language": "en"})
    return sum(_duration(p) for p in paths)


def _duration(path: Path) -> float:
    import soundfile

    return soundfile.info(str(path)).duration


def _busy(store: Store) -> float:
    return sum(worker.busy_seconds for worker in store.workers.all())


def _timed(store: Store, paths: list[Path], tag: str, workers: int, warm: list[Path]) -> tuple[float, float, float]:
    """(audio seconds, wall seconds, the remote workers' busy seconds) for `paths`, after one
    warm-up recording per worker."""
    _enqueue(store, warm[:workers], f"{tag}-warm")
    wait_until(lambda: store.jobs.queue_stats()["done"] >= workers, f"{tag}: warm-up", 600)
    done_before, busy_before = store.jobs.queue_stats()["done"], _busy(store)
    started = time.monotonic()
    audio = _enqueue(store, paths, tag)
    wait_until(lambda: store.jobs.queue_stats()["done"] == done_before + len(paths), f"{tag}: {len(paths)} jobs", 3600,
               every=0.05)
    return audio, time.monotonic() - started, _busy(store) - busy_before


def run(system: str, root: Path, paths: list[Path], warm: list[Path]) -> tuple[float, float, float]:
    remote = {"local": 0, "remote-1": 1, "remote-2": 2}[system]
    with Site(root / system, MODELS_DIR, workers=max(remote, 1)) as site:
        site.root.mkdir(parents=True)
        (site.root / "box").mkdir()
        store = Store(site.root / "box" / "appliance.db")
        try:
            if remote:
                site.start_broker()
                site.start_box(**BOX_SETTINGS)
                for index in range(1, remote + 1):
                    site.start_worker(index)
            else:
                # The box's own worker, one thread, no broker.
                site.start("worker", site.box, [str(APPLIANCE), "-v", "worker"],
                           site.env(data_dir=site.root / "box", cpu_threads=1, speaker_source="channels",
                                    **BOX_SETTINGS))
            return _timed(store, paths, system, max(remote, 1), warm)
        finally:
            store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=40, help="recordings per run (3-5 s prompts)")
    parser.add_argument("--systems", default="local,remote-1,remote-2")
    parser.add_argument("--keep", type=Path, help="keep logs and databases here")
    args = parser.parse_args()
    reason = missing()
    if reason:
        sys.exit(f"cannot build the site: {reason}")
    prompts = short_prompts(args.count + 2)
    warm, paths = prompts[:2], prompts[2:]
    root = args.keep or Path(tempfile.mkdtemp(prefix="bench-scale-"))
    figures = {}
    for system in args.systems.split(","):
        audio, wall, busy = run(system, root, paths, warm)
        figures[system] = (audio, wall, busy)
        print(f"{system:9s} {len(paths)} recordings, {audio / 60:5.1f} min audio in {wall:6.1f} s: "
              f"{audio / wall:5.2f} audio hours per wall hour", flush=True)

    def speed(system):
        audio, wall, _ = figures[system]
        return audio / wall

    if {"remote-1", "remote-2"} <= figures.keys():
        print(f"2 workers / 1 worker: {speed('remote-2') / speed('remote-1'):.2f}x")
    if {"local", "remote-1"} <= figures.keys():
        print(f"1 remote / local:     {speed('remote-1') / speed('local'):.2f}x")
    if "remote-1" in figures:
        _, wall, busy = figures["remote-1"]
        overhead = (wall - busy) / len(paths)
        print(f"remote overhead per job: {overhead:.2f} s on {busy / len(paths):.2f} s of fetch and "
              f"transcription ({overhead / (busy / len(paths)):.1%})")
    print(f"logs and databases: {root}")


if __name__ == "__main__":
    main()
