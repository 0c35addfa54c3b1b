"""`appliance live`: follow Asterisk's events, tap the calls the dialplan flags, keep a limit.

Calls never enter our Stasis app. The ARI event socket subscribes to everything
(subscribeAll), and the dialplan's recording subroutine sets the channel variable
APPLIANCE_LIVE_CALL="FLAG/DIRECTION/CALLEE" on the caller's channel (FLAG is 1 where the
dialplan set APPLIANCE_LIVE=1). Its ChannelVarset event tells this service about the call;
snoop channels then copy its audio out (appliance/asterisk/rtp.py). The dialplan never waits
for this service: if it is down, overloaded or killed mid-call, the call goes on, the
recording is made as always and the batch transcript follows after hangup.

More calls than `live_max_calls` at once: the extra ones are stored as "unavailable" (the UI
says so) and are not tapped. Starting and ending sessions runs off the event thread, so a slow
Asterisk answer or model never delays the events of other calls.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from appliance.asterisk.ari import Ari, AriError
from appliance.asterisk.events import AriEvents
from appliance.config import Settings
from appliance.errors import ApplianceError
from appliance.live.session import CallInfo, LiveSession
from appliance.stt.streaming import streaming_engine_for
from appliance.transcript.model import valid_uniqueid

log = logging.getLogger(__name__)

APP = "appliance-live"
MARKER = "APPLIANCE_LIVE_CALL"
HEARTBEAT_SECONDS = 5.0
# The UI stops showing a call as live when the service has not touched it for this long.
STALE_SECONDS = 20.0
# A live draft goes this long after the batch transcript replaced it (open pages move over)...
REPLACED_SECONDS = 120.0
# ...or after a day when no transcript came (the recording failed or never arrived).
KEEP_SECONDS = 24 * 3600.0
PRUNE_EVERY_SECONDS = 60.0


def parse_marker(value: str) -> tuple[bool, str | None, str | None]:
    """"1/inbound/201" -> (flagged, direction, callee); missing parts are None."""
    flag, direction, callee = (value.split("/", 2) + ["", ""])[:3]
    return flag.strip() == "1", direction.strip() or None, callee.strip() or None


class LiveService:
    def __init__(self, settings: Settings, store, ari: Ari | None = None) -> None:
        self.settings = settings
        self.store = store
        self.ari = ari or Ari.from_settings(settings)
        self.events = AriEvents.from_settings(settings, APP, subscribe_all=True, on_connect=self._on_connect)
        self.sessions: dict[str, LiveSession | None] = {}  # None while starting
        # Calls refused (over the limit): still shown as in progress until they end.
        self.refused: dict[str, int] = {}
        self.lock = threading.Lock()
        self.pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="live-session")
        self.engines: dict[str, object] = {}
        self._stop = threading.Event()

    # Events

    def handle(self, event: dict) -> None:
        kind = event.get("type")
        channel = event.get("channel") or {}
        if kind == "ChannelVarset" and event.get("variable") == MARKER and channel.get("id"):
            self._offer(channel, event.get("value") or "")
        elif kind in ("ChannelDestroyed", "ChannelHangupRequest"):
            if channel.get("id") in self.sessions:
                self.pool.submit(self._end, channel["id"])
            elif channel.get("id") in self.refused:
                self.store.live.end(self.refused.pop(channel["id"]))

    def _offer(self, channel: dict, value: str) -> None:
        flagged, direction, callee = parse_marker(value)
        if not (flagged or self.settings.live_all_calls):
            return
        if not valid_uniqueid(channel["id"]):
            log.warning("live: a channel id that is no Asterisk uniqueid; not transcribed")
            return
        info = CallInfo(channel["id"], (channel.get("caller") or {}).get("number") or None, callee, direction)
        with self.lock:
            if info.channel_id in self.sessions or info.channel_id in self.refused:
                return
            full = len(self.sessions) >= self.settings.live_max_calls
            if not full:
                self.sessions[info.channel_id] = None  # reserved
        if full:
            log.info("live limit of %d calls reached: a call is marked unavailable", self.settings.live_max_calls)
            self.refused[info.channel_id] = self.store.live.start(
                info.channel_id, caller=info.caller, callee=info.callee, direction=info.direction,
                state="unavailable", reason="limit")
            return
        self.pool.submit(self._begin, info)

    def _begin(self, info: CallInfo) -> None:
        live_id = self.store.live.start(info.channel_id, caller=info.caller, callee=info.callee,
                                        direction=info.direction)
        try:
            session = LiveSession(info, live_id, self._engine(info), self.ari, APP, self.store)
            session.start()
        except (ApplianceError, OSError) as exc:
            log.warning("live call %d unavailable: %s", live_id, exc)
            reason = "ended" if isinstance(exc, AriError) and exc.status == 404 else "error"
            self.store.live.start(info.channel_id, caller=info.caller, callee=info.callee,
                                  direction=info.direction, state="unavailable", reason=reason)
            self.store.live.end(live_id)
            with self.lock:
                self.sessions.pop(info.channel_id, None)
            return
        with self.lock:
            ended = info.channel_id not in self.sessions  # hung up while we were tapping
            self.sessions[info.channel_id] = session
        if ended:
            self._end(info.channel_id)

    def _end(self, channel_id: str) -> None:
        with self.lock:
            session = self.sessions.get(channel_id)
            if session is None:
                # Still starting: dropping the reservation makes _begin end it once tapped.
                self.sessions.pop(channel_id, None)
                return
            del self.sessions[channel_id]
        session.stop()
        self.store.live.end(session.live_id)

    def _engine(self, info: CallInfo):
        language = self.settings.language_for(info.caller, info.callee)
        with self.lock:
            engine = self.engines.get(language)
        if engine is None:
            engine = streaming_engine_for(self.settings, language)
            with self.lock:
                self.engines[language] = engine
        return engine

    def _on_connect(self) -> None:
        self.pool.submit(self._catch_up)

    def _catch_up(self) -> None:
        """After (re)connecting: remove taps a killed predecessor left behind (their calls go
        on without them) and take the flagged calls already in progress; ARI replays nothing."""
        with self.lock:
            busy = bool(self.sessions)
        try:
            channels = self.ari.channels()
            if not busy:
                for channel in channels:
                    if channel.get("id", "").startswith(("live-snoop-", "live-media-")):
                        self.ari.hangup(channel["id"])
                for bridge in self.ari.bridges():
                    if bridge.get("id", "").startswith("live-bridge-"):
                        self.ari.destroy_bridge(bridge["id"])
            for channel in channels:
                if channel.get("id", "").startswith("live-"):
                    continue
                marker = self.ari.get_variable(channel["id"], MARKER)
                if marker:
                    self._offer(channel, marker)
        except AriError as exc:
            log.info("catching up after connecting: %s", exc)

    # Running

    def _housekeeping(self) -> None:
        since_prune = PRUNE_EVERY_SECONDS
        while not self._stop.wait(HEARTBEAT_SECONDS):
            try:
                with self.lock:
                    ids = [s.live_id for s in self.sessions.values() if s is not None]
                    ids += self.refused.values()
                self.store.live.touch(ids)
                since_prune += HEARTBEAT_SECONDS
                if since_prune >= PRUNE_EVERY_SECONDS:
                    since_prune = 0
                    self.store.live.prune(REPLACED_SECONDS, KEEP_SECONDS)
            except ApplianceError as exc:
                log.warning("live housekeeping: %s", exc)

    def preload(self) -> None:
        """Load the site language's engine now, so the first call does not wait for it."""
        try:
            self.engines[self.settings.language] = streaming_engine_for(self.settings, self.settings.language)
        except ApplianceError as exc:
            log.warning("live engine for %s not loaded: %s", self.settings.language, exc)

    def run(self, stop: threading.Event) -> None:
        """Serve until `stop` is set."""
        self.preload()
        keeper = threading.Thread(target=self._housekeeping, name="live-housekeeping", daemon=True)
        keeper.start()
        self.events.start(self.handle)
        stop.wait()
        self._stop.set()
        self.events.stop()
        for channel_id in list(self.sessions):
            self._end(channel_id)
        self.pool.shutdown(wait=True)
