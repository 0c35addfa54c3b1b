"""Search and call-list benchmark: the store and the web UI on a large synthetic call history.

    .venv/bin/python bench/search.py [--calls 100000] [--db PATH] [--queries 200] [--budget 20]

Fills a fresh SQLite store (a temporary folder, or --db PATH: built there if missing, reused if
it already holds calls) with N finished two-party calls whose turns are made of real transcript
text: Asterisk's prompt list (core-sounds-en.txt) and the pocketsphinx LibriVox transcription,
cut into short runs of consecutive words and strung together, so words keep their natural
frequencies and neighbours. Everything goes in through the store's public calls, so a schema
change cannot leave the bench writing stale rows: the first 1000 calls one transaction each
(store.intake.enqueue + store.jobs.claim + store.jobs.finish), and that ingest rate is printed; the rest
through store.intake.enqueue + store.jobs.store_result, 2000 calls per transaction (Store.batch).

Then it times store.search.hits(limit=20) and store.search.count per query class, warm (p50/p95/max
over --queries runs, or fewer when a class runs past --budget seconds) and cold (first query
after the database file was dropped from the OS page cache, on a fresh connection); and the web
pages GET / (page 1, page 2000, number and date filters) and GET /search through Flask's test
client, logged in as an admin through the real login form (CSRF on). The target is p95 < 50 ms
on 2 cores. Last the plans SQLite made for the store's reads (Store.query_plans). It prints
figures and asserts nothing; see bench/README.md.
"""

from __future__ import annotations

import argparse
import bisect
import gzip
import itertools
import json
import math
import os
import platform
import random
import re
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = BENCH_DIR.parent
sys.path[:0] = [str(Path(__file__).resolve().parent), str(PROJECT_ROOT)]

from machine import machine  # noqa: E402

ASTERISK_LIST = Path("/usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz")
LIBRIVOX_LIST = Path("/usr/share/pocketsphinx/test/data/librivox/transcription")
NO_CONFIG = Path("/dev/null")  # never read the machine's /etc/appliance/appliance.toml

TARGET_MS = 50.0
PUBLIC_CALLS = 1000  # calls put in through store.intake.enqueue + store.jobs.claim + store.jobs.finish
CHUNK = 2000  # calls per bulk transaction
SEED = 20240101
YEAR_START = datetime(2024, 1, 1, tzinfo=timezone.utc)
WEB_REQUESTS = 50
NUMBER_SAMPLE = 20_000  # newest inbound calls whose callers pick the phone-number queries
ADMIN, PASSWORD = "bench-admin", "bench-password-1"

# --- the text ---------------------------------------------------------------------------------

_WORD = re.compile(r"[A-Za-z0-9']+")


def corpus() -> list[list[str]]:
    """Sentences (as word lists, written as spoken) from the two real transcript lists."""
    sentences: list[list[str]] = []
    with gzip.open(ASTERISK_LIST, "rt", encoding="utf-8", errors="replace") as lines:
        for line in lines:
            if line.startswith(";") or ":" not in line:
                continue
            text = re.sub(r"\[[^\]]*\]", " ", line.split(":", 1)[1])  # stage notes: [beep]
            for sentence in re.split(r"(?<=[.?!])\s+", text):
                words = _WORD.findall(sentence)
                if words:
                    sentences.append(words)
    for line in LIBRIVOX_LIST.read_text().splitlines():
        words = [w for w in line.split() if w not in ("<s>", "</s>") and not w.startswith("(")]
        if words:
            sentences.append(words)
    return sentences


class TextMaker:
    """Turns made of runs of 1-6 consecutive words cut from random real sentences.

    Every corpus word has the same chance of being picked, so word frequencies follow the
    texts (a Zipf-like curve: "to" and "the" make 13 % of all words), and word pairs inside
    a run are real ones ("phone number", "pound key").
    """

    def __init__(self, sentences: list[list[str]], rng: random.Random) -> None:
        self.rng = rng
        # Pick a start word uniformly over all corpus words: (sentence, position) pairs.
        self.positions = [(s, i) for s in sentences for i in range(len(s))]

    def words(self, count: int) -> list[str]:
        out: list[str] = []
        rng, positions = self.rng, self.positions
        while len(out) < count:
            sentence, start = positions[rng.randrange(len(positions))]
            run = rng.randint(1, 6)
            out.extend(sentence[start:start + run])
        del out[count:]
        return out

    def turn(self, count: int) -> str:
        words = self.words(count)
        words[0] = words[0][:1].upper() + words[0][1:]
        text = " ".join(words)
        return text + self.rng.choice(".....?")


# --- the calls --------------------------------------------------------------------------------

try:
    from zoneinfo import ZoneInfo

    LOCAL = ZoneInfo("Europe/Berlin")
except Exception:  # noqa: BLE001 - no tz database: UTC it is
    LOCAL = timezone.utc

AREAS = ("30", "40", "89", "221", "69", "711", "211", "351", "341", "511", "151", "160", "170", "176")


class CallMaker:
    """Calls of a small company: 40 extensions, 20 000 outside numbers (a few call often)."""

    def __init__(self, sentences, n_calls: int, seed: int = SEED) -> None:
        self.rng = random.Random(seed)
        self.text = TextMaker(sentences, self.rng)
        self.extensions = [str(200 + i) for i in range(1, 41)]
        outside = set()
        while len(outside) < 20000:
            area = self.rng.choice(AREAS)
            subscriber = str(self.rng.randint(10 ** 5, 10 ** 8 - 1))
            # A trunk hands over E.164 ("+4930...") or national ("030...") caller IDs.
            outside.add(f"+49{area}{subscriber}" if self.rng.random() < 0.8 else f"0{area}{subscriber}")
        self.outside = sorted(outside)
        self.rng.shuffle(self.outside)
        # Zipf-like popularity: the k-th number is picked with weight 1/(k+1)^0.9.
        weights = [1 / (k + 1) ** 0.9 for k in range(len(self.outside))]
        self.cum_outside = list(itertools.accumulate(weights))
        self.starts = self._starts(n_calls)

    def _starts(self, n: int) -> list[float]:
        """n start times over 2024, weekdays in office hours mostly; sorted, as calls arrive."""
        rng, starts = self.rng, []
        while len(starts) < n:
            day = YEAR_START + timedelta(days=rng.randrange(366))
            if day.weekday() >= 5 and rng.random() > 0.1:
                continue
            hour = min(max(rng.gauss(12.5, 3.0), 0.0), 23.99)
            local = datetime(day.year, day.month, day.day, tzinfo=LOCAL) + timedelta(hours=hour)
            starts.append(local.timestamp())
        return sorted(starts)

    def number(self) -> str:
        r = self.rng.random() * self.cum_outside[-1]
        return self.outside[bisect.bisect(self.cum_outside, r)]

    def call(self, n: int) -> dict:
        rng = self.rng
        start = self.starts[n]
        direction = rng.choices(("inbound", "outbound", "internal"), (60, 30, 10))[0]
        if direction == "inbound":
            caller, callee = self.number(), rng.choice(self.extensions)
        elif direction == "outbound":
            caller, callee = rng.choice(self.extensions), self.number()
        else:
            caller, callee = rng.sample(self.extensions, 2)
        turns, at, speaker = [], round(rng.uniform(0.3, 2.0), 2), rng.random() < 0.3
        for idx in range(rng.randint(6, 20)):
            words = self.text.words(rng.randint(8, 25))
            speaker = (not speaker) if rng.random() < 0.85 else speaker
            timed = []
            for w, word in enumerate(words):
                length = round(0.12 + 0.05 * len(word) + rng.random() * 0.1, 2)
                p = int(rng.uniform(0.55, 1.0) * 8192) / 8192  # float32-like, as faster-whisper gives
                shown = word[:1].upper() + word[1:] if w == 0 else word
                timed.append([round(at, 2), round(at + length, 2), " " + shown, p])
                at += length + rng.random() * 0.12
            timed[-1][2] += rng.choice(".....?")
            text = "".join(t[2] for t in timed).strip()
            turns.append((int(speaker), timed[0][0], timed[-1][1], text, json.dumps(timed)))
            at += rng.uniform(0.2, 1.5)
        duration = round(at + rng.uniform(0.5, 3.0), 2)
        started = datetime.fromtimestamp(start, LOCAL).isoformat(timespec="seconds")
        uniqueid = f"{int(start)}.{n}"
        return {
            "uniqueid": uniqueid, "caller": caller, "callee": callee, "direction": direction,
            "started_at": started, "start": start, "duration": duration, "turns": turns,
            "path": f"/var/lib/appliance/spool/{uniqueid}.wav",
        }


def _transcript(call: dict):
    from appliance.transcript.model import Speaker, Transcript, Turn, Word

    meta = _meta(call)
    speakers = (Speaker(0, call["caller"], "caller"), Speaker(1, call["callee"], "callee"))
    turns = tuple(
        Turn(speaker, start, end, text, tuple(Word(*w) for w in json.loads(words)))
        for speaker, start, end, text, words in call["turns"]
    )
    return Transcript("en", "faster-whisper", "whisper-base", call["duration"], speakers, turns, meta)


def _meta(call: dict):
    from appliance.transcript.model import CallMeta

    return CallMeta(uniqueid=call["uniqueid"], caller=call["caller"], callee=call["callee"],
                    direction=call["direction"], started_at=call["started_at"], linkedid=call["uniqueid"])


# --- building the store -----------------------------------------------------------------------


def public_ingest(store, calls: list[dict]) -> dict:
    """enqueue_recording + claim_job + finish_job per call, as the hook and a worker do."""
    work = [(c, _meta(c), _transcript(c)) for c in calls]  # built before the clock starts
    spent = {"enqueue": 0.0, "claim": 0.0, "finish": 0.0}
    call_ids = []
    started = time.perf_counter()
    for call, meta, transcript in work:
        t0 = time.perf_counter()
        call_ids.append(store.intake.enqueue(meta, [call["path"]]).call_id)
        t1 = time.perf_counter()
        job = store.jobs.claim("bench", 600)
        t2 = time.perf_counter()
        if not store.jobs.finish(job.id, "bench", transcript):
            raise RuntimeError(f"job {job.id} was not finished")
        t3 = time.perf_counter()
        spent["enqueue"] += t1 - t0
        spent["claim"] += t2 - t1
        spent["finish"] += t3 - t2
    wall = time.perf_counter() - started
    return {"calls": len(calls), "wall": wall, **spent, "call_ids": call_ids,
            "turns": sum(len(c["turns"]) for c in calls)}


def bulk_ingest(db_path: Path, maker: CallMaker, first: int, last: int) -> dict:
    """The rest through the same store calls (enqueue_recording, then store_result, as a remote
    worker delivers), CHUNK calls per transaction (Store.batch) instead of one each."""
    from appliance.store import Store

    started, made, turns_total = time.perf_counter(), 0.0, 0
    with Store(db_path) as store:
        for chunk_start in range(first, last, CHUNK):
            t0 = time.perf_counter()
            calls = [maker.call(n) for n in range(chunk_start, min(last, chunk_start + CHUNK))]
            work = [(c, _meta(c), _transcript(c)) for c in calls]
            made += time.perf_counter() - t0
            with store.batch():
                for call, meta, transcript in work:
                    job_id = store.intake.enqueue(meta, [call["path"]]).job_id
                    if store.jobs.store_result(job_id, transcript) != "stored":
                        raise RuntimeError(f"job {job_id} was not stored")
            turns_total += sum(len(c["turns"]) for c in calls)
            done = min(last, chunk_start + CHUNK)
            if (done - first) % (10 * CHUNK) == 0 or done == last:
                print(f"  bulk: {done:,} calls, {time.perf_counter() - started:.0f} s", flush=True)
    wall = time.perf_counter() - started
    return {"calls": last - first, "wall": wall, "generate": made, "turns": turns_total}


def probe_write_path(db_path: Path, sentences, count: int = 20) -> dict:
    """The public path once more, on the full store: `count` extra calls, deleted again after."""
    from appliance.store import Store

    tag, maker = int(time.time()), CallMaker(sentences, count, seed=SEED + 1)
    calls = []
    for k in range(count):
        c = maker.call(k)
        c["uniqueid"] = f"probe-{tag}.{k}"
        c["path"] = f"/var/lib/appliance/spool/probe-{tag}-{k}.wav"
        calls.append(c)
    with Store(db_path) as store:
        probe = public_ingest(store, calls)
        t0 = time.perf_counter()
        for call_id in probe["call_ids"]:  # leave the store as it was (deleted_files keeps the paths)
            store.calls.delete(call_id)
        probe["delete"] = time.perf_counter() - t0
    return probe


def db_size(path: Path) -> int:
    return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())


# --- timing -----------------------------------------------------------------------------------


def evict(path: Path) -> bool:
    """Drop the database file from the OS page cache (clean pages only: fsync first)."""
    if not hasattr(os, "posix_fadvise"):
        return False
    for name in (path, Path(f"{path}-wal")):
        if name.exists():
            fd = os.open(name, os.O_RDONLY)
            try:
                os.fsync(fd)
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)
    return True


def runs(fn, items: list, n: int, budget: float) -> list[float]:
    """Milliseconds of fn(item) for n runs cycling through items, stopping early past budget s."""
    times, deadline = [], time.perf_counter() + budget
    for i in range(n):
        item = items[i % len(items)]
        t0 = time.perf_counter()
        fn(item)
        times.append((time.perf_counter() - t0) * 1000)
        if time.perf_counter() > deadline and len(times) >= min(5, n):
            break
    return times


def pct(times: list[float], q: float) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def fmt_ms(ms: float) -> str:
    return f"{ms:.1f}" if ms < 100 else f"{ms:.0f}"


def fmt_hits(count: float) -> str:
    """count_search's answer: exact up to SEARCH_COUNT_CAP, "more than" beyond."""
    from appliance.store import SEARCH_COUNT_CAP

    return f">{SEARCH_COUNT_CAP:,}" if count > SEARCH_COUNT_CAP else f"{count:,.0f}"


def verdict(p95: float) -> str:
    return "ok" if p95 < TARGET_MS else "SLOW"


# --- query classes ----------------------------------------------------------------------------


def query_classes(sentences, store) -> list[dict]:
    counts = Counter(w.lower() for s in sentences for w in s)
    common = [w for w, _ in counts.most_common(8)]
    rng = random.Random(SEED)
    rare = rng.sample(sorted(w for w, n in counts.items() if n == 1 and w.isalpha() and len(w) >= 5), 8)
    text = " ".join(" ".join(s).lower() for s in sentences)
    phrases = [p for p in ("phone number", "pound key", "try again", "please hold", "your call",
                           "area code", "next available", "the number") if f" {p} " in f" {text} "]
    prefixes = ["repre*", "pass*", "conf*", "mess*", "ext*", "vol*"]
    boolean = ["password AND extension", "voicemail OR mailbox", "busy OR unavailable",
               "conference AND muted", "message NOT voicemail", "pound AND key AND please"]
    absent = [w for w in ("zebra", "kangaroo", "xylophone", "invoice") if w not in counts]
    # Numbers: the stored form, as the list shows it. Frequent and occasional outside callers.
    inbound = store.calls.page(limit=NUMBER_SAMPLE, direction="inbound")
    ranked = [number for number, _ in Counter(c.caller for c in inbound if c.caller).most_common()]
    numbers = ranked[:4] + ranked[len(ranked) // 2:len(ranked) // 2 + 4]
    first_day, last_day = (datetime.fromisoformat(store.calls.page(limit=1, descending=descending)[0].started_at)
                           for descending in (False, True))
    mid = first_day + (last_day - first_day) / 2
    month = (mid.date().isoformat(), (mid + timedelta(days=30)).date().isoformat())
    partial = numbers[0].lstrip("+0")[2:9]  # 7 digits from inside the most frequent number
    return [
        {"name": "common word", "queries": common, "filters": {}},
        {"name": "rare word", "queries": rare, "filters": {}},
        {"name": "absent word", "queries": absent, "filters": {}},
        {"name": "two-word phrase", "queries": [f'"{p}"' for p in phrases], "filters": {}},
        {"name": "prefix", "queries": prefixes, "filters": {}},
        {"name": "AND/OR/NOT", "queries": boolean, "filters": {}},
        {"name": "phone number", "queries": numbers, "filters": {}},
        {"name": "common + role=caller", "queries": common, "filters": {"role": "caller"}},
        {"name": f"common + {month[0]}..{month[1]}", "queries": common,
         "filters": {"date_from": month[0], "date_to": month[1]}},
        {"name": f"common + number={partial}", "queries": common, "filters": {"number": partial}},
    ], {"month": month, "partial": partial, "common": common, "rare": rare, "phrases": phrases}


def bench_store(db_path: Path, classes: list[dict], n: int, budget: float) -> list[dict]:
    from appliance.store import Store

    results = []
    for cls in classes:
        q0, filters = cls["queries"][0], cls["filters"]
        cold = {}
        for what in ("search", "count"):
            evicted = evict(db_path)
            with Store(db_path) as store:
                t0 = time.perf_counter()
                if what == "search":
                    store.search.hits(q0, limit=20, **filters)
                else:
                    store.search.count(q0, **filters)
                cold[what] = (time.perf_counter() - t0) * 1000
        cold["evicted"] = evicted
        with Store(db_path) as store:
            for q in cls["queries"]:  # warm the cache: one untimed round
                store.search.hits(q, limit=20, **filters)
            hits = [store.search.count(q, **filters) for q in cls["queries"]]
            search_ms = runs(lambda q: store.search.hits(q, limit=20, **filters), cls["queries"], n, budget)
            count_ms = runs(lambda q: store.search.count(q, **filters), cls["queries"], n, budget)
        results.append({**cls, "cold": cold, "hits": hits, "search": search_ms, "count": count_ms})
        print(f"  {cls['name']}: search p95 {fmt_ms(pct(search_ms, 0.95))} ms, count p95 "
              f"{fmt_ms(pct(count_ms, 0.95))} ms ({len(search_ms)}/{len(count_ms)} runs)", flush=True)
    return results


# --- the web ----------------------------------------------------------------------------------


def web_client(db_path: Path, web_dir: Path):
    from appliance.config import load_settings
    from appliance.store import Store
    from appliance.web import create_app
    from appliance.web.auth import hash_password

    settings = load_settings(NO_CONFIG, environ={}, data_dir=web_dir, db_path=db_path)
    with Store(db_path) as store:
        if store.users.by_name(ADMIN) is None:
            store.users.add(ADMIN, hash_password(PASSWORD), "admin")
    app = create_app(settings=settings)  # production config: CSRF on
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    response = client.post("/login", data={"csrf_token": token.group(1) if token else "",
                                           "username": ADMIN, "password": PASSWORD})
    if response.status_code != 302:
        raise RuntimeError(f"login failed: {response.status_code}")
    return client


def bench_web(db_path: Path, web_dir: Path, pages: list[tuple[str, str]], budget: float) -> list[dict]:
    client = web_client(db_path, web_dir)
    results = []
    for name, url in pages:
        evict(db_path)
        t0 = time.perf_counter()
        first = client.get(url)
        cold = (time.perf_counter() - t0) * 1000
        if first.status_code != 200:
            raise RuntimeError(f"GET {url}: {first.status_code}")
        body = first.get_data(as_text=True)
        rows = body.count("<tr data-call=") + body.count('<span class="snippet">')
        times = runs(lambda u: client.get(u).close(), [url], WEB_REQUESTS, budget)
        results.append({"name": name, "url": url, "cold": cold, "times": times, "bytes": len(first.data),
                        "rows": rows})
        print(f"  {name}: p95 {fmt_ms(pct(times, 0.95))} ms ({len(times)} requests)", flush=True)
    return results


# --- query plans ------------------------------------------------------------------------------


def plans(db_path: Path, extra: dict) -> list[tuple[str, list]]:
    """EXPLAIN QUERY PLAN of the reads the store runs for a search, a count and the call list."""
    from appliance.store import Store

    word = extra["common"][0]
    narrow = {"date_from": extra["month"][0], "date_to": extra["month"][1], "number": extra["partial"]}
    out = []
    with Store(db_path) as store:
        for label, run in (
            (f"search({word!r})", lambda: store.search.hits(word, limit=20)),
            (f"count_search({word!r})", lambda: store.search.count(word)),
            (f"search({word!r}, role, dates, number)", lambda: store.search.hits(word, limit=20, role="caller", **narrow)),
            (f"count_search({word!r}, role, dates, number)",
             lambda: store.search.count(word, role="caller", **narrow)),
            ("calls(page 1)", lambda: store.calls.page(limit=25)),
            ("calls(number, dates)", lambda: store.calls.page(limit=25, **narrow)),
            ("count_calls(number, dates)", lambda: store.calls.count(**narrow)),
        ):
            with store.query_plans() as found:
                run()
            out.append((label, found))
    return out


# --- report -----------------------------------------------------------------------------------


def software() -> str:
    from importlib.metadata import PackageNotFoundError, version

    found = [f"Python {platform.python_version()}", f"SQLite {sqlite3.sqlite_version}"]
    for name in ("sqlite-utils", "flask"):
        try:
            found.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            pass
    return ", ".join(found)


def print_store_table(results: list[dict], n: int) -> None:
    print(f"store.search.hits(limit=20) and store.search.count, warm: p50/p95/max ms over up to {n} runs "
          f"(runs = how many fitted the budget); cold = first query after dropping the file from the page cache")
    header = (f"{'class':32} {'hits (median)':>13} | {'search p50':>10} {'p95':>7} {'max':>7} {'runs':>5} | "
              f"{'count p50':>9} {'p95':>7} {'max':>7} {'runs':>5} | {'cold s/c':>13} | p95<50ms")
    print(header)
    print("-" * len(header))
    for r in results:
        s, c = r["search"], r["count"]
        cold = f"{fmt_ms(r['cold']['search'])}/{fmt_ms(r['cold']['count'])}"
        worst = max(pct(s, 0.95), pct(c, 0.95))
        print(f"{r['name']:32} {fmt_hits(statistics.median(r['hits'])):>13} | {fmt_ms(pct(s, .5)):>10} "
              f"{fmt_ms(pct(s, .95)):>7} {fmt_ms(max(s)):>7} {len(s):5} | {fmt_ms(pct(c, .5)):>9} "
              f"{fmt_ms(pct(c, .95)):>7} {fmt_ms(max(c)):>7} {len(c):5} | {cold:>13} | {verdict(worst)}")
    print()
    for r in results:
        shown = ", ".join(r["queries"][:8])
        print(f"  {r['name']}: {shown}" + (f"  [{', '.join(f'{k}={v}' for k, v in r['filters'].items())}]"
                                          if r["filters"] else ""))


def print_web_table(results: list[dict]) -> None:
    print(f"Web pages through Flask's test client, logged in as an admin: ms per request over up to "
          f"{WEB_REQUESTS} requests (cold = first request after dropping the file from the page cache)")
    header = (f"{'page':30} {'url':40} {'rows':>4} {'p50':>7} {'p95':>7} {'max':>7} {'reqs':>5} {'cold':>7} "
              f"{'KiB':>4} | p95<50ms")
    print(header)
    print("-" * len(header))
    for r in results:
        t = r["times"]
        print(f"{r['name']:30} {r['url'][:40]:40} {r['rows']:4} {fmt_ms(pct(t, .5)):>7} {fmt_ms(pct(t, .95)):>7} "
              f"{fmt_ms(max(t)):>7} {len(t):5} {fmt_ms(r['cold']):>7} {r['bytes'] / 1024:4.0f} | "
              f"{verdict(pct(t, .95))}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=100_000, help="calls in the store (default 100000)")
    parser.add_argument("--db", type=Path, help="build the store here, or reuse it if it holds calls")
    parser.add_argument("--queries", type=int, default=200, help="timed runs per query class (default 200)")
    parser.add_argument("--budget", type=float, default=20.0,
                        help="seconds at most per class and function; slow classes get fewer runs (default 20)")
    parser.add_argument("--no-web", action="store_true", help="skip the web pages")
    args = parser.parse_args()

    from appliance.store import Store

    load_before = os.getloadavg()
    work = Path(tempfile.mkdtemp(prefix="bench-search-"))
    db_path = (args.db.resolve() if args.db else work / "appliance.db")
    sentences = corpus()
    try:
        db_path.parent.mkdir(parents=True, exist_ok=True)
        with Store(db_path) as store:
            existing = store.calls.count()
            if existing:
                print(f"reusing {db_path}: {existing:,} calls (--calls ignored)")
                ingest = None
            else:
                maker = CallMaker(sentences, args.calls)
                public_n = min(PUBLIC_CALLS, args.calls)
                print(f"building {args.calls:,} calls in {db_path} ...", flush=True)
                public = public_ingest(store, [maker.call(n) for n in range(public_n)])
                print(f"  public path: {public_n:,} calls in {public['wall']:.1f} s", flush=True)
                ingest = {"public": public}
        if ingest is not None and args.calls > public_n:
            ingest["bulk"] = bulk_ingest(db_path, maker, public_n, args.calls)

        probe = probe_write_path(db_path, sentences)
        with Store(db_path) as store:
            total_calls = store.calls.count()
            classes, extra = query_classes(sentences, store)
        size = db_size(db_path)

        print("\ntiming the store ...", flush=True)
        store_results = bench_store(db_path, classes, args.queries, args.budget)

        web_results = []
        if not args.no_web:
            print("\ntiming the web pages ...", flush=True)
            total_pages = max(1, math.ceil(total_calls / 25))
            far = min(2000, total_pages)
            pages = [
                ("calls list, page 1", "/"),
                (f"calls list, page {far}", f"/?page={far}"),
                ("calls list, number filter", f"/?number={extra['partial']}"),
                ("calls list, one month", f"/?from={extra['month'][0]}&to={extra['month'][1]}"),
                ("search page, common word", f"/search?q={extra['common'][2]}"),
                ("search page, rare word", f"/search?q={extra['rare'][0]}"),
                ("search page, phrase", "/search?q=%22" + extra["phrases"][0].replace(" ", "+") + "%22"),
            ]
            web_results = bench_web(db_path, work / "web", pages, args.budget)

        # --- the report
        counts = Counter(w.lower() for s in sentences for w in s)
        print()
        print(f"machine : {machine(with_memory=True)}; load average before {load_before[0]:.2f}, now {os.getloadavg()[0]:.2f}")
        print(f"software: {software()}")
        built_turns = f", {sum(part['turns'] for part in ingest.values()):,} turns" if ingest else ""
        print(f"store   : {db_path} ({'kept' if args.db else 'temporary'}), {size / 1024 ** 2:,.0f} MiB "
              f"(file + WAL), {total_calls:,} calls{built_turns}")
        print(f"text    : {len(sentences)} real sentences (core-sounds-en.txt + LibriVox transcription), "
              f"{sum(counts.values()):,} words, {len(counts)} distinct; turns are runs of 1-6 consecutive "
              f"words from random sentences, so word frequencies are the texts' (top: "
              + ", ".join(f"{w} {100 * n / sum(counts.values()):.1f}%" for w, n in counts.most_common(4)) + ")")
        if ingest:
            p = ingest["public"]
            print(f"ingest  : public path (enqueue_recording + claim_job + finish_job, one transaction each) "
                  f"for the first {p['calls']:,} calls ({p['turns']:,} turns): {p['calls'] / p['wall']:,.0f} calls/s, "
                  f"{1000 * p['wall'] / p['calls']:.2f} ms per call (enqueue {1000 * p['enqueue'] / p['calls']:.2f}, "
                  f"claim {1000 * p['claim'] / p['calls']:.2f}, finish {1000 * p['finish'] / p['calls']:.2f})")
            if "bulk" in ingest:
                b = ingest["bulk"]
                print(f"          bulk path (the same enqueue_recording, then store_result as a remote worker "
                      f"delivers; {CHUNK} calls per transaction with Store.batch) for the other {b['calls']:,} "
                      f"calls ({b['turns']:,} turns): {b['calls'] / b['wall']:,.0f} calls/s, {b['wall']:.0f} s, "
                      f"of which {b['generate']:.0f} s generating text")
        print(f"          public path on the full store ({probe['calls']} more calls, deleted again after): "
              f"{1000 * probe['wall'] / probe['calls']:.2f} ms per call (enqueue "
              f"{1000 * probe['enqueue'] / probe['calls']:.2f}, claim {1000 * probe['claim'] / probe['calls']:.2f}, "
              f"finish {1000 * probe['finish'] / probe['calls']:.2f}); delete_call "
              f"{1000 * probe['delete'] / probe['calls']:.2f} ms per call")
        print()
        print_store_table(store_results, args.queries)
        if web_results:
            print()
            print_web_table(web_results)
        print()
        slow = [r["name"] for r in store_results if max(pct(r["search"], .95), pct(r["count"], .95)) >= TARGET_MS]
        slow += [r["name"] for r in web_results if pct(r["times"], .95) >= TARGET_MS]
        print(f"target p95 < {TARGET_MS:.0f} ms on 2 cores (this machine: "
              f"{len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count()} usable; "
              f"every query runs on one core): "
              + ("met everywhere" if not slow else f"NOT met for {len(slow)}: " + "; ".join(slow)))
        if not store_results[0]["cold"]["evicted"]:
            print("note: no posix_fadvise here, so 'cold' only means a fresh connection")

        print()
        print("query plans (EXPLAIN QUERY PLAN of the reads the store ran):")
        for label, found in plans(db_path, extra):
            print(f"  {label}:")
            for plan in found:
                print(f"    {' '.join(plan.sql.split())[:110]}")
                for depth, detail in plan.steps:
                    print(f"      {'  ' * depth}{detail}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
