"""Hangup -> transcript searchable, and hangup -> mail sent, over real calls through Asterisk.

    .venv/bin/python bench/latency.py                       # 20 calls and 20 voicemails
    .venv/bin/python bench/latency.py --calls 5 --voicemails 5

Asterisk 22 runs in the test root (tests/support/asterisk.py, as root), `appliance worker` on
the host with the shipped intervals (a 15 s sweep: only the hook's nudge makes it fast), mail
goes to an SMTP sink on loopback. Real SIP phones (baresip) say Debian's asterisk-core-sounds
prompts:

- a call: phone 100 calls phone 101, which answers; the caller says two prompts, the callee one
  between them, then the caller hangs up. Measured: hangup -> an FTS hit on the call
  (`store.search.hits`, what the search page runs).
- a voicemail: phone 100 calls 102, which nobody answers; after the greeting the caller leaves
  two prompts and hangs up. Measured: hangup -> searchable, and hangup -> the mail in the sink.

Hangup is the moment Asterisk destroys the call's first channel (ARI `ChannelDestroyed`); the
transcription time is the worker's own figure for the job (its log line "job N: done ... in
X s"). Calls run one after another, so none waits behind another. Criterion (issue 16): the
median latency <= the median transcription time + 2 s. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import soundfile

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = BENCH_DIR.parent
sys.path[:0] = [str(BENCH_DIR), str(PROJECT_ROOT), str(PROJECT_ROOT / "tests")]

from support.asterisk import ROOT, SIP, baresip_phone, settings_overrides, start_asterisk, voice_track
from support.processes import wait_for
from machine import machine  # noqa: E402

from appliance import democall  # noqa: E402
from appliance.asterisk.events import AriEvents  # noqa: E402
from appliance.asterisk.install import load_secrets  # noqa: E402
from appliance.config import load_settings  # noqa: E402
from appliance.store import Store  # noqa: E402

os.environ.setdefault("HF_HUB_OFFLINE", "1")

APPLIANCE = Path(sys.executable).with_name("appliance")
OWNER = "owner@example.org"
CONFIG = f"""
[phones]
100 = "Reception"
101 = "Office"
102 = "Store"

[mailboxes.102]
name = "Store"
email = "{OWNER}"
language = "en"
"""
# The caller's prompts (each under 7 s) and a word of each to search for.
CALLER_PROMPTS = (
    ("tt-weasels", "weasels"), ("ss-noservice", "service"), ("privacy-prompt", "area"),
    ("vm-newuser", "setup"), ("feature-not-avail-line", "feature"), ("privacy-unident", "unidentified"),
    ("vm-mismatch", "passwords"), ("queue-youarenext", "line"), ("followme/sorry", "locate"),
    ("followme/status", "desk"), ("conf-getchannel", "channel"), ("vm-nobodyavail", "nobody"),
)
CALLEE_PROMPT = ("queue-periodic-announce", "representatives")
SLOT = 8.0  # seconds of the caller's first turn: the callee's turn starts after it
GREETING = 13.5  # the mailbox's greeting ("the person at extension ... after the tone") and beep
DEADLINE = 180.0  # per call, for the transcript and the mail; a call that misses it is reported


def prompt(name: str) -> Path:
    return democall.ASTERISK_SOUNDS / f"{name}.wav"


def seconds(name: str) -> float:
    return soundfile.info(str(prompt(name))).duration


class SmtpSink:
    """An SMTP server on loopback noting when each message arrived and the call link it holds."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.arrived: dict[int, float] = {}  # call id -> time.time() of arrival
        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                found = re.search(rb"/calls/(\d+)", envelope.content)
                if found:
                    sink.arrived.setdefault(int(found.group(1)), time.time())
                return "250 OK"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> "SmtpSink":
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()


class Hangups:
    """Times of Asterisk's ChannelDestroyed events, from its ARI event stream."""

    def __init__(self, settings) -> None:
        self.times: list[float] = []
        self.events = AriEvents.from_settings(settings, app="bench-latency", subscribe_all=True)

    def __enter__(self) -> "Hangups":
        self.events.start(self._seen)
        if not self.events.connected.wait(30):
            raise SystemExit("ARI events not reachable")
        return self

    def __exit__(self, *exc) -> None:
        self.events.stop()

    def _seen(self, event: dict) -> None:
        if event.get("type") == "ChannelDestroyed":
            self.times.append(time.time())

    def first_after(self, since: float) -> float | None:
        return next((t for t in self.times if t >= since), None)


def job_seconds(log: Path, job_id: int) -> float | None:
    found = re.search(rf"job {job_id}: done, .* in ([0-9.]+) s", log.read_text(errors="replace"))
    return float(found.group(1)) if found else None


def measure(store: Store, sink: SmtpSink, hangups: Hangups, log: Path, dial, words: list[str],
            mailed: bool, since: float, before: set[int]) -> dict:
    """Waits for the call `dial` places (a Popen) to hang up, be searchable and, if `mailed`,
    mailed; the figures in seconds from hangup (None where it never came)."""
    result = {"hangup": None, "searchable": None, "mail": None, "transcription": None, "audio": None}
    end = time.monotonic() + DEADLINE
    call_id = None
    while time.monotonic() < end:
        now = time.time()
        if result["hangup"] is None:
            result["hangup"] = hangups.first_after(since)
        if result["searchable"] is None:
            hits = [h for word in words for h in store.search.hits(word, limit=200) if h.call_id not in before]
            if hits:
                result["searchable"], call_id = now, hits[0].call_id
        if call_id is not None and mailed and result["mail"] is None:
            result["mail"] = sink.arrived.get(call_id)
        if result["hangup"] and result["searchable"] and (result["mail"] or not mailed):
            break
        time.sleep(0.05)
    dial.wait(timeout=120)
    if call_id is not None:
        call = store.calls.get(call_id)
        result["audio"] = call.duration
        result["transcription"] = wait_for(lambda: job_seconds(log, call.job_id), "the worker's log line", deadline=10)
    hung = result["hangup"]
    for key in ("searchable", "mail"):
        result[key] = result[key] - hung if result[key] and hung else None
    return result


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary(name: str, rows: list[dict], key: str) -> bool | None:
    pairs = [(r[key], r["transcription"]) for r in rows if r[key] is not None and r["transcription"]]
    missed = len(rows) - len(pairs)
    if not pairs:
        print(f"{name}: no figures ({missed} missed)")
        return None
    latency = [p[0] for p in pairs]
    transcription = [p[1] for p in pairs]
    median_latency, median_transcription = statistics.median(latency), statistics.median(transcription)
    met = median_latency <= median_transcription + 2.0
    print(f"{name}: median {median_latency:.2f} s, p90 {quantile(latency, 0.9):.2f} s; transcription "
          f"median {median_transcription:.2f} s, p90 {quantile(transcription, 0.9):.2f} s; ratio "
          f"{median_latency / median_transcription:.2f}; overhead median "
          f"{statistics.median(a - b for a, b in pairs):.2f} s; {len(pairs)} calls"
          + (f", {missed} missed" if missed else ""))
    print(f"  criterion median latency <= median transcription + 2 s "
          f"({median_latency:.2f} <= {median_transcription + 2.0:.2f}): {'met' if met else 'NOT met'}")
    return met


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=20, help="answered calls between two phones")
    parser.add_argument("--voicemails", type=int, default=20, help="unanswered calls into a mailbox")
    parser.add_argument("--models-dir", type=Path, default=PROJECT_ROOT / "var" / "models")
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("bench/latency.py runs Asterisk in its chroot: run it as root")

    with tempfile.TemporaryDirectory(prefix="bench-latency-") as tmp, SmtpSink() as sink:
        data = Path(tmp)
        overrides = {**settings_overrides(ROOT), "data_dir": data, "models_dir": args.models_dir,
                     "mail_relay": f"127.0.0.1:{sink.port}", "public_url": "http://appliance.test"}
        config = data / "appliance.toml"
        config.write_text(CONFIG)
        settings = load_settings(config, environ={}, **overrides)
        asterisk = start_asterisk(settings)
        env = {**os.environ, "APPLIANCE_CONFIG": str(config),
               **{f"APPLIANCE_{k.upper()}": str(v) for k, v in overrides.items()}}
        log = data / "worker.log"
        with open(log, "w") as out:
            worker = subprocess.Popen([str(APPLIANCE), "-v", "worker"], env=env, stdout=out,
                                      stderr=subprocess.STDOUT)
        passwords = {n: p["password"] for n, p in load_secrets(settings)["phones"].items()}
        callee_at = 0.5 + SLOT
        # Phone 101 answers every call and says its prompt after the caller's first turn; long
        # silence after it, so the caller is the one who hangs up.
        office = baresip_phone(data / "office", "101", passwords["101"],
                               voice_track([(callee_at, prompt(CALLEE_PROMPT[0]))], 300, data / "callee.wav"),
                               seconds_after=0, seconds_before=0, answers=True)
        office_phone = subprocess.Popen(["baresip", "-f", str(office)], stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        rows = {"call": [], "voicemail": []}
        try:
            print(f"machine: {machine()}; load average {os.getloadavg()[0]:.2f} at the start")
            wait_for(lambda: "101/sip:" in asterisk.rx("pjsip show contacts"), "phone 101 to register", deadline=60)
            with Hangups(settings) as hangups, Store.open(settings) as store:
                plan = [("call", i) for i in range(args.calls)] + [("voicemail", i) for i in range(args.voicemails)]
                for kind, i in plan:
                    (first, first_word), (second, second_word) = (
                        CALLER_PROMPTS[(2 * i + k) % len(CALLER_PROMPTS)] for k in (0, 1))
                    words = [first_word, second_word]
                    if kind == "call":
                        first_at, extension = 0.5, "101"
                        second_at = callee_at + seconds(CALLEE_PROMPT[0]) + 1.0
                        words.append(CALLEE_PROMPT[1])
                    else:  # the second prompt right after the first: a long pause would end the message
                        first_at, extension = GREETING, "102"
                        second_at = GREETING + seconds(first) + 1.0
                    length = second_at + seconds(second) + 1.5
                    folder = data / f"{kind}-{i}"
                    folder.mkdir()
                    voice = voice_track([(first_at, prompt(first)), (second_at, prompt(second))], length,
                                        data / f"{kind}-{i}.wav")
                    phone = baresip_phone(folder, "100", passwords["100"], voice, seconds_after=0, seconds_before=0)
                    before = {c.id for c in store.calls.page(limit=1000)}
                    since = time.time()
                    dial = subprocess.Popen(["baresip", "-f", str(phone), "-e", f"/dial sip:{extension}@{SIP}",
                                             "-t", str(int(length + 15))], stdin=subprocess.DEVNULL,
                                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
                    row = measure(store, sink, hangups, log, dial, words, kind == "voicemail", since, before)
                    rows[kind].append(row)
                    print(f"{kind:9} {i + 1:2}: audio {row['audio'] or 0:5.1f} s, transcription "
                          f"{row['transcription'] or 0:5.2f} s, hangup -> searchable "
                          + (f"{row['searchable']:5.2f} s" if row["searchable"] is not None else "  never")
                          + ("" if kind == "call" else ", hangup -> mail "
                             + (f"{row['mail']:5.2f} s" if row["mail"] is not None else "never")),
                          flush=True)
                    wait_for(lambda: "0 active channels" in asterisk.rx("core show channels count"),
                             "the call's channels to be gone", deadline=60)
        finally:
            office_phone.terminate()
            office_phone.wait(timeout=30)
            worker.terminate()
            worker.wait(timeout=60)
            asterisk.stop()

    print(f"\nload average {os.getloadavg()[0]:.2f} at the end")
    summary("calls, hangup -> searchable", rows["call"], "searchable")
    summary("voicemails, hangup -> searchable", rows["voicemail"], "searchable")
    summary("voicemails, hangup -> mail sent", rows["voicemail"], "mail")


if __name__ == "__main__":
    main()
