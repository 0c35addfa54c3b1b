"""Load on the web UI: many open event streams while pages and searches are answered.

    .venv/bin/python bench/web_load.py                      # 300 streams, 20 users, 50/s, 30 s
    .venv/bin/python bench/web_load.py --streams 100 --seconds 10

Starts a real `appliance serve` on loopback (tests/support/served.py), opens the streams (spread over
the users, within the per-user cap), requests pages and searches at a steady rate, and prints
p50/p95/max latency and the errors; then closes the streams and prints the server's thread and
file-descriptor counts before, during and after. Exits 1 if p95 is 1 s or more, or on errors.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from support import load  # noqa: E402
from support.served import start_served, stop_served  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=300)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--rate", type=float, default=50.0, help="page and search requests a second")
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        served = start_served(Path(folder))
        try:
            names = load.add_users(served, args.users)
            browsers = [served.login(name, load.PASSWORD) for name in names]
            load.warm_up(served, browsers)
            before = load.process_counts(served.process.pid)
            streams = load.Streams()
            for n in range(args.streams):
                streams.open(browsers[n % len(browsers)])
            during = load.process_counts(served.process.pid)
            report = load.Report()
            load.requests(served, browsers, args.rate, args.seconds, report)
            open_after = len(streams.sockets)
            streams.close()
            after = load.settle(served.process.pid, before)
            alive = served.alive()
        finally:
            stop_served(served)
    print(f"{open_after} streams open ({streams.refused} refused) from {args.users} users; "
          f"{args.rate:g} requests/s for {args.seconds:g} s")
    print(report.summary())
    for error in report.errors[:10]:
        print("  error:", error)
    print(f"server threads / fds: before {before[0]} / {before[1]}, streams open {during[0]} / "
          f"{during[1]}, after {after[0]} / {after[1]}")
    ok = alive and not report.errors and report.percentile(95) < 1.0 and not streams.refused
    print("OK" if ok else "FAILED: p95 must be under 1 s, with no errors and no refused stream")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
