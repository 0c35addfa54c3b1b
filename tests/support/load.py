"""Load against a real `appliance serve` (tests/support/served.py), loopback only and bounded: many open
event streams from many users while pages and searches are requested at a steady rate.

Used by bench/web_load.py (the full run, with latencies) and tests/test_load.py (a small run that
asserts no errors and no leaked threads or file descriptors).
"""

from __future__ import annotations

import os
import selectors
import statistics
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from appliance.store.scopes import entry
from support.served import Served, read_until
from support.web import hashed

PASSWORD = "load-pass-1234"


@dataclass
class Report:
    latencies: list[float] = field(default_factory=list)  # seconds per answered request
    errors: list[str] = field(default_factory=list)
    streams_refused: int = 0

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]

    def summary(self) -> str:
        n = len(self.latencies)
        median = statistics.median(self.latencies) if n else float("nan")
        return (f"{n} requests: p50 {median * 1000:.0f} ms, p95 {self.percentile(95) * 1000:.0f} ms, "
                f"max {max(self.latencies, default=float('nan')) * 1000:.0f} ms; {len(self.errors)} errors")


def process_counts(pid: int) -> tuple[int, int]:
    """(threads, open file descriptors) of a process, from /proc."""
    with open(f"/proc/{pid}/status") as status:
        threads = next(int(line.split()[1]) for line in status if line.startswith("Threads:"))
    return threads, len(os.listdir(f"/proc/{pid}/fd"))


def add_users(served: Served, count: int) -> list[str]:
    """`count` viewers of every call, made in the store (the server reads users per request)."""
    names = [f"load{n}" for n in range(count)]
    with served.store() as store:
        for name in names:
            if store.users.by_name(name) is None:
                user = store.users.add(name, hashed(PASSWORD), "viewer")
                store.users.set_scope_entries(user.id, [entry("all")])
    return names


class Streams:
    """Open event streams, drained by one thread (as browsers read them) until closed."""

    def __init__(self):
        self.sockets = []
        self.refused = 0
        self._selector = selectors.DefaultSelector()
        self._stop = threading.Event()
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def open(self, browser, path: str = "/events") -> None:
        status, sock, _head = browser.open_stream(path)
        if status != 200:
            self.refused += 1
            sock.close()
            return
        sock.setblocking(False)
        self.sockets.append(sock)
        self._selector.register(sock, selectors.EVENT_READ)

    def _drain(self) -> None:
        while not self._stop.is_set():
            if not self.sockets:
                time.sleep(0.05)
                continue
            for key, _ in self._selector.select(timeout=0.1):
                try:
                    key.fileobj.recv(65536)
                except (BlockingIOError, OSError):
                    pass

    def close(self) -> None:
        self._stop.set()
        self._reader.join()
        for sock in self.sockets:
            self._selector.unregister(sock)
            sock.close()
        self.sockets.clear()
        self._selector.close()


def requests(served: Served, browsers: list, rate: float, seconds: float, report: Report) -> None:
    """Pages and searches at `rate` a second for `seconds`, spread over the users, open loop."""
    paths = ["/", "/calls/%d" % served.own_call, "/search?" + urllib.parse.urlencode({"q": "invoice"}),
             "/search?" + urllib.parse.urlencode({"q": "appoint*"}), "/healthz", "/login"]
    lock = threading.Lock()

    def one(n: int) -> None:
        browser, path = browsers[n % len(browsers)], paths[n % len(paths)]
        started = time.monotonic()
        try:
            status = browser.get(path, timeout=30).status
        except OSError as error:
            with lock:
                report.errors.append(f"{path}: {error!r}")
            return
        with lock:
            report.latencies.append(time.monotonic() - started)
            if status not in (200, 503 if path == "/healthz" else 200):
                report.errors.append(f"{path}: {status}")

    total = int(rate * seconds)
    with ThreadPoolExecutor(32) as pool:
        begin = time.monotonic()
        for n in range(total):
            time.sleep(max(0.0, begin + n / rate - time.monotonic()))
            pool.submit(one, n)


def settle(pid: int, baseline: tuple[int, int], tries: int = 100) -> tuple[int, int]:
    """The process's counts once they are back at `baseline` or below, or after `tries` looks
    (the server closes its side of a stream once it sees the client's close)."""
    counts = process_counts(pid)
    for _ in range(tries):
        if counts[0] <= baseline[0] and counts[1] <= baseline[1]:
            break
        time.sleep(0.1)
        counts = process_counts(pid)
    return counts


def warm_up(served: Served, browsers: list) -> None:
    """Bring the server to its steady thread count: every page thread and the hub's started."""
    requests(served, browsers, rate=1000, seconds=0.2, report=Report())  # 32 at once
    status, sock, seen = browsers[0].open_stream("/events?since=0")
    try:
        read_until(sock, b"event: call", seen)  # the hub's poller has run
    finally:
        sock.close()
