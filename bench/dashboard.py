"""Dashboard queries on a large store: calls per day and per extension, and the page itself.

    .venv/bin/python bench/dashboard.py [--calls 100000] [--db PATH] [--runs 30]

The store is bench/search.py's (the same generator: N two-party calls over 2024, office hours
mostly; --db PATH builds it there or reuses it). Every call gets conversation metrics the size a
real one has (bulk-inserted into call_metrics, as the metrics stage would store them). Then it
times, warm, store.dashboard.days and store.dashboard.extensions for two weeks, a month, a
quarter and the whole year, with and without a number filter, and GET /dashboard for a month
and the year through Flask's test client (an admin, logged in). Issue 19's target: every
chart's query p95 under 200 ms on 2 cores. Prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH_DIR), str(BENCH_DIR.parent)]

import search  # noqa: E402
from machine import machine  # noqa: E402

TARGET_MS = 200.0
RANGES = {"two weeks": ("2024-03-04", "2024-03-17"), "a month": ("2024-03-01", "2024-03-31"),
          "a quarter": ("2024-04-01", "2024-06-30"), "the year": ("2024-01-01", "2024-12-31")}


def build(db_path: Path, calls: int) -> None:
    from appliance.store import Store

    with Store(db_path) as store:
        if store.calls.count():
            print(f"reusing {db_path}: {store.calls.count():,} calls")
            return
        maker = search.CallMaker(search.corpus(), calls)
        first = min(search.PUBLIC_CALLS, calls)
        print(f"building {calls:,} calls in {db_path} ...", flush=True)
        search.public_ingest(store, [maker.call(n) for n in range(first)])
    if calls > first:
        search.bulk_ingest(db_path, maker, first, calls)


def fill_metrics(db_path: Path) -> int:
    """Metrics for every call without: the JSON of a CallMetrics, plausible figures."""
    rng = random.Random(19)
    conn = sqlite3.connect(db_path)
    rows = conn.execute(
        "SELECT r.call_id, max(t.id) FROM transcripts t JOIN recordings r ON r.id = t.recording_id"
        " WHERE r.call_id NOT IN (SELECT call_id FROM call_metrics) GROUP BY r.call_id").fetchall()

    def metrics() -> str:
        talk = [round(rng.uniform(10, 200), 2) for _ in range(2)]
        events = [{"by": rng.randrange(2), "over": 0, "at": round(rng.uniform(0, 300), 2),
                   "other_stopped": rng.random() < 0.5} for _ in range(rng.randrange(6))]
        return json.dumps({"exact": True, "talk_seconds": talk, "words": [int(t * 2.5) for t in talk],
                           "questions": [rng.randrange(8), rng.randrange(8)],
                           "longest_monologue_seconds": [round(t / 3, 2) for t in talk],
                           "overlap_seconds": round(rng.uniform(0, 10), 2), "overlap_count": rng.randrange(10),
                           "silence_seconds": round(rng.uniform(0, 30), 2),
                           "longest_silence_seconds": round(rng.uniform(0, 8), 2),
                           "response_gaps": sorted(round(rng.uniform(0.1, 3), 2) for _ in range(12)),
                           "interruptions": events})

    with conn:
        conn.executemany("INSERT INTO call_metrics (call_id, transcript_id, exact, data, error, created_at)"
                         " VALUES (?, ?, 1, ?, NULL, 0)", [(c, t, metrics()) for c, t in rows])
    conn.close()
    return len(rows)


def timed(fn, runs: int) -> list[float]:
    fn()  # warm
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return sorted(times)


def p95(times: list[float]) -> float:
    return times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--db", type=Path, help="build the store here, or reuse it if it holds calls")
    parser.add_argument("--runs", type=int, default=30, help="timed runs per query (default 30)")
    args = parser.parse_args()
    from appliance.store import Store

    work = Path(tempfile.mkdtemp(prefix="bench-dashboard-"))
    db_path = args.db.resolve() if args.db else work / "appliance.db"
    db_path.parent.mkdir(parents=True, exist_ok=True)
    build(db_path, args.calls)
    print(f"metrics added for {fill_metrics(db_path):,} calls", flush=True)
    with Store(db_path) as store:
        total = store.calls.count()
        number = store._db.execute("SELECT callee_digits FROM calls GROUP BY callee_digits"
                                   " ORDER BY count(*) DESC LIMIT 1").fetchone()[0]
        print(f"\n{machine(with_memory=True)}; {total:,} calls; number filter {number!r}")
        print(f"{'query':42s} {'rows':>5s} {'p50 ms':>8s} {'p95 ms':>8s}  (target p95 < {TARGET_MS:.0f} ms)")
        for name, (first, last) in RANGES.items():
            for filtered in (None, number):
                args_ = {"date_from": first, "date_to": last, "number": filtered, "kind": "call"}
                for what, fn in (("per day", store.dashboard.days), ("per extension", store.dashboard.extensions)):
                    rows = len(fn(**args_))
                    times = timed(lambda: fn(**args_), args.runs)
                    label = f"{what}, {name}" + (", number filter" if filtered else "")
                    print(f"{label:42s} {rows:5d} {times[len(times) // 2]:8.1f} {p95(times):8.1f}", flush=True)
    client = search.web_client(db_path, work / "web")
    for name in ("a month", "the year"):
        first, last = RANGES[name]
        url = f"/dashboard?from={first}&to={last}"
        assert client.get(url).status_code == 200
        times = timed(lambda: client.get(url).close(), max(5, args.runs // 3))
        print(f"{'GET /dashboard, ' + name:42s} {'':5s} {times[len(times) // 2]:8.1f} {p95(times):8.1f}")


if __name__ == "__main__":
    main()
