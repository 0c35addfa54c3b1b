"""A small load run against a real `appliance serve` (bench/web_load.py is the full one): 100
open event streams from 5 users while pages and searches are answered; nothing fails, and once
the streams close the server holds no more threads or file descriptors than before."""

from __future__ import annotations

from support import load
from support.processes import wait_for


def test_a_hundred_streams_cost_no_errors_and_leak_nothing_when_they_close(served):
    names = load.add_users(served, 5)
    browsers = [served.login(name, load.PASSWORD) for name in names]
    load.warm_up(served, browsers)
    before = load.process_counts(served.process.pid)
    streams = load.Streams()
    try:
        for n in range(100):
            streams.open(browsers[n % len(browsers)])
        assert (len(streams.sockets), streams.refused) == (100, 0)
        # Every stream holds a socket, and no thread (on a loaded machine the server may still
        # be accepting the last few).
        threads, files = wait_for(lambda: counts if (counts := load.process_counts(served.process.pid))[1]
                                  >= before[1] + 100 else None, "the server to hold every stream", deadline=60)
        assert threads <= before[0]
        report = load.Report()
        load.requests(served, browsers, rate=20, seconds=10, report=report)
    finally:
        streams.close()
    assert not report.errors, report.errors[:10]
    assert len(report.latencies) == 200
    after = load.settle(served.process.pid, before)
    assert after[0] <= before[0], f"threads: {before[0]} before, {after[0]} after"
    assert after[1] <= before[1], f"file descriptors: {before[1]} before, {after[1]} after"
    assert served.alive()
