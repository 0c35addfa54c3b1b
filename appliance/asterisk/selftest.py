"""`appliance selftest`: a real call through the installed Asterisk, checked stage by stage.

Two known prompts talk to each other over Local channels (asterisk-config/extensions.conf,
context appliance-selftest); the call must be recorded, queued, transcribed by the running
worker with each prompt on its own speaker, and be searchable. The report names the first
stage that failed, so an admin knows where to look after an install or upgrade.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Callable

from appliance.asterisk.ari import Ari
from appliance.config import Settings
from appliance.errors import ApplianceError
from appliance.store import Store

SELFTEST_CALLER = "999"
SELFTEST_CALLEE = "selftest"
# What the two prompts say (Asterisk's tt-weasels and vm-nobodyavail), as Whisper base hears them.
CALLER_WORDS = ("phone", "system")
CALLEE_WORDS = ("nobody", "available")


@dataclass(frozen=True)
class Stage:
    name: str
    ok: bool
    seconds: float
    detail: str


def _words(text: str) -> str:
    return re.sub(r"[^\w ]+", " ", text.lower())


def run_selftest(settings: Settings, timeout: float = 240.0, on_stage: Callable[[Stage], None] | None = None,
                 ari: Ari | None = None) -> list[Stage]:
    stages: list[Stage] = []
    started = time.monotonic()
    since = time.time()

    def stage(name: str, check: Callable[[], tuple[bool, str]], wait: bool = True) -> bool:
        began = time.monotonic()
        deadline = started + timeout
        ok, detail = check()
        while wait and not ok and time.monotonic() < deadline:
            time.sleep(0.5)
            ok, detail = check()
        result = Stage(name, ok, time.monotonic() - began, detail)
        stages.append(result)
        if on_stage:
            on_stage(result)
        return ok

    ari = ari or Ari.from_settings(settings)
    store = Store.open(settings)
    try:
        def reachable():
            try:
                info = ari.ping()
                return True, f"Asterisk {info.get('system', {}).get('version', '?')}"
            except ApplianceError as exc:
                return False, str(exc)

        def place_call():
            try:
                ari.originate("Local/caller@appliance-selftest", context="appliance-selftest",
                              extension="callee", caller_id=f'"Self-test" <{SELFTEST_CALLER}>')
                return True, "Local/caller@appliance-selftest -> callee"
            except ApplianceError as exc:
                return False, str(exc)

        def the_call():
            return next((c for c in store.calls.page(limit=20)
                         if c.callee == SELFTEST_CALLEE and c.created_at >= since - 1), None)

        def recorded():
            fresh = [p for p in settings.spool_dir.glob("*.raw") if p.stat().st_mtime >= since - 1]
            if fresh or the_call():
                return True, "recording handed to the spool by the dialplan hook"
            return False, (f"no recording arrived in {settings.spool_dir}: check the dialplan's "
                           "MixMonitor and appliance-hook.sh")

        def queued():
            call = the_call()
            if call:
                return True, f"call {call.id}"
            return False, "the recording was not queued: is `appliance worker` (spool sweep) running?"

        def transcribed():
            call = the_call()
            if call and call.state == "done":
                return True, f"call {call.id} transcribed"
            if call and call.state in ("failed", "quarantined"):
                return False, f"call {call.id} {call.state}: {call.error}"
            return False, "no worker transcribed the call: is `appliance worker` running?"

        def speakers_right():
            call = the_call()
            transcript = store.transcripts.get(call.id)
            by_role = {s.role: _words(" ".join(t.text for t in transcript.turns if t.speaker == s.index))
                       for s in transcript.speakers}
            caller_ok = all(w in by_role.get("caller", "") for w in CALLER_WORDS)
            callee_ok = all(w in by_role.get("callee", "") for w in CALLEE_WORDS)
            if caller_ok and callee_ok:
                return True, "each prompt on its own speaker"
            return False, f"words on the wrong speaker or missing: {sorted(by_role)}"

        def searchable():
            call = the_call()
            hits = store.search.hits('"nobody is available"', limit=50)
            if any(h.call_id == call.id for h in hits):
                return True, "found by full-text search"
            return False, "the transcript is not in the search index"

        for name, check, wait in (("asterisk reachable", reachable, False), ("call placed", place_call, False),
                                  ("recorded", recorded, True), ("queued", queued, True),
                                  ("transcribed", transcribed, True), ("speakers right", speakers_right, False),
                                  ("searchable", searchable, False)):
            if not stage(name, check, wait):
                break
    finally:
        store.close()
    return stages
