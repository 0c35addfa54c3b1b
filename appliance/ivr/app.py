"""The voice menu service: an ARI Stasis application that listens, recognises and routes.

Why ARI Stasis and not AGI: the menu needs the caller's audio *while* the prompt plays (to
stop it when they start speaking: barge-in), DTMF at any moment, and to stop a playback from
outside. ARI gives all three as events and REST calls, and the caller's audio arrives the way
live transcription already taps it (snoop spy=in -> externalMedia slin16 -> RtpReceiver, see
appliance/asterisk/rtp.py). AGI runs one command at a time (no barge-in while STREAM FILE
plays, audio only through EAGI's 8 kHz pipe) and would make a dead FastAGI server a failure on
the call's path. With Stasis, a dialplan whose app is not connected returns at once and
falls through to the same menu by keys (asterisk-config/extensions.conf), so callers never
hang on a stopped appliance.

One thread per caller (`MenuCall`) runs the tries: play the prompt, listen, recognise and
match (appliance/ivr/listen.py: Silero VAD endpointing with an early guess, then
appliance/ivr/recognise.py and matcher.py); a confident match or a known key routes the call by setting
APPLIANCE_MENU_CHOICE/_CONTEXT/_EXTEN and handing it back to the dialplan, which Goto()s
there; silence, an unclear or unrelated answer asks again; after `misses` tries, the
operator. Every try is logged in the store (never its text in the log file).
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import queue
import threading
import time
import uuid
from dataclasses import dataclass

from appliance.asterisk.ari import Ari, AriError
from appliance.config import Settings
from appliance.ivr.dialplan import APP
from appliance.ivr.listen import Answer, AnswerListener
from appliance.ivr.menu import Destination, Menu, load_menus
from appliance.ivr.recognise import recogniser_for
from appliance.store.menu import MenuInteraction

log = logging.getLogger(__name__)

# A try that runs this long (a prompt that never ends, no audio at all) counts as silence.
MAX_TRY_SECONDS = 120.0


class HungUp(Exception):
    """The caller left the menu (hung up, or the channel left Stasis)."""


@dataclass(frozen=True)
class Outcome:
    via: str  # "speech", "dtmf", "silence"
    heard: str | None = None
    choice: str | None = None
    confidence: float | None = None
    engine: str | None = None
    answer_seconds: float | None = None
    decision_ms: float | None = None


class MenuCall:
    """One caller in one menu, from StasisStart to the hand-back."""

    def __init__(self, service: "MenuService", channel: dict, menu: Menu) -> None:
        self.service = service
        self.ari = service.ari
        self.channel = channel
        self.id = channel["id"]
        self.menu = menu
        self.events: queue.Queue = queue.Queue()
        self.language = menu.language or service.settings.language_for((channel.get("caller") or {}).get("number"))

    def run(self) -> None:
        from appliance.asterisk.rtp import RtpReceiver, start_tap

        tap = None
        receiver = RtpReceiver()
        try:
            tap = start_tap(self.ari, self.id, spy="in", app=APP, port=receiver.port)
            self._tries(receiver)
        except HungUp:
            log.info("menu %s: the caller left (%s)", self.menu.name, self.id)
        except Exception:  # noqa: BLE001 — whatever broke, the caller must not stay in Stasis
            log.exception("menu %s failed on %s; the dialplan's key menu takes over", self.menu.name, self.id)
            self.hand_back()
        finally:
            if tap is not None:
                tap.stop(self.ari)
            receiver.close()
            self.service.forget(self.id)

    def _tries(self, receiver) -> None:
        recogniser = recogniser_for(self.service.settings, self.menu, self.language)
        misses = 0
        for attempt in itertools.count(1):
            outcome = self._try(receiver, recogniser)
            destination = None
            if outcome.choice is not None:
                destination = self.menu.choice(outcome.choice).destination
            else:
                misses += 1
                if misses >= self.menu.misses:
                    outcome = dataclasses.replace(outcome, choice="operator")
                    destination = self.menu.operator
            self._log(attempt, outcome, destination)
            if destination is not None:
                self._route(outcome.choice, destination)
                return

    def _try(self, receiver, recogniser) -> Outcome:
        # Audio that queued up while the last answer was recognised is not this answer.
        while receiver.receive(timeout=0):
            pass
        listener = AnswerListener(self.menu, recogniser)
        playback = f"menu-{uuid.uuid4().hex[:12]}"
        started = time.monotonic()
        self.ari.play(self.id, self.menu.prompt, playback_id=playback, language=self.language)
        playing, listen_until = True, None
        while True:
            now = time.monotonic()
            for event in self._drain():
                kind = event.get("type")
                if kind == "ChannelDtmfReceived":
                    if playing:
                        self.ari.stop_playback(playback)
                    digit = event.get("digit", "")
                    choice = self.menu.by_dtmf(digit)
                    return Outcome("dtmf", heard=digit, choice=choice.name if choice else None,
                                   confidence=1.0 if choice else 0.0, answer_seconds=now - started)
                if kind == "PlaybackFinished" and event["playback"]["id"] == playback:
                    playing, listen_until = False, now + self.menu.listen_seconds
            if (not listener.speaking and listen_until is not None and now > listen_until) \
                    or now - started > MAX_TRY_SECONDS:
                return Outcome("silence", answer_seconds=now - started)
            for frame in receiver.receive(timeout=0.02):
                for event in listener.accept(frame.samples):
                    if event == "speech" and playing:  # barge-in: they answer before the prompt ends
                        self.ari.stop_playback(playback)
                        playing = False
                    elif isinstance(event, Answer):
                        return self._outcome(event, started)

    def _outcome(self, answer: Answer, started: float) -> Outcome:
        log.info("menu %s try on %s: %s, confidence %.2f, %d ms%s", self.menu.name, self.id,
                 answer.match.choice if answer.confident else "no match", answer.match.confidence,
                 answer.decision_ms, " (early)" if answer.early else "")
        return Outcome("speech", heard=answer.heard.text, choice=answer.match.choice if answer.confident else None,
                       confidence=answer.match.confidence, engine=answer.heard.engine,
                       answer_seconds=time.monotonic() - started, decision_ms=answer.decision_ms)

    def _drain(self) -> list[dict]:
        events = []
        while True:
            try:
                event = self.events.get_nowait()
            except queue.Empty:
                return events
            if event.get("type") in ("StasisEnd", "ChannelDestroyed", "ChannelHangupRequest"):
                raise HungUp()
            events.append(event)

    def _route(self, choice: str, destination: Destination) -> None:
        for name, value in (("APPLIANCE_MENU_CHOICE", choice), ("APPLIANCE_MENU_CONTEXT", destination.context),
                            ("APPLIANCE_MENU_EXTEN", destination.extension)):
            self.ari.set_variable(self.id, name, value)
        self.ari.continue_in_dialplan(self.id)

    def hand_back(self) -> None:
        """Back to the dialplan without a destination: its key menu and operator take over."""
        try:
            self.ari.continue_in_dialplan(self.id)
        except AriError as exc:
            log.info("menu: could not hand %s back (%s)", self.id, exc)

    def _log(self, attempt: int, outcome: Outcome, destination: Destination | None) -> None:
        self.service.store.menu.log(MenuInteraction(
            uniqueid=self.id, linkedid=self.channel.get("linkedid"), menu=self.menu.name, attempt=attempt,
            via=outcome.via, heard=outcome.heard, choice=outcome.choice,
            destination=str(destination) if destination else None, confidence=outcome.confidence,
            engine=outcome.engine, answer_seconds=outcome.answer_seconds, decision_ms=outcome.decision_ms,
            at=time.time()))


class MenuService:
    """Routes ARI events to the callers in the menus; `run()` blocks until `stop()`."""

    def __init__(self, settings: Settings, store, ari: Ari | None = None) -> None:
        from appliance.asterisk.events import AriEvents

        self.settings = settings
        self.store = store
        self.menus = load_menus(settings)
        self.ari = ari or Ari.from_settings(settings)
        self.events = AriEvents.from_settings(settings, app=APP)
        self._calls: dict[str, MenuCall] = {}
        self._lock = threading.Lock()

    def preload(self) -> None:
        """Load each menu's recogniser for its default language now, not on the first caller."""
        for menu in self.menus.values():
            recogniser_for(self.settings, menu, menu.language or self.settings.language)

    def run(self) -> None:
        self.events.run(self.handle)

    def start(self) -> threading.Thread:
        return self.events.start(self.handle)

    def stop(self) -> None:
        """Stop listening; callers still in a menu go back to the dialplan's key menu."""
        self.events.stop()
        with self._lock:
            calls = list(self._calls.values())
        for call in calls:
            call.events.put({"type": "StasisEnd"})  # ends its thread at the next step
            call.hand_back()

    def forget(self, channel_id: str) -> None:
        with self._lock:
            self._calls.pop(channel_id, None)

    def handle(self, event: dict) -> None:
        kind = event.get("type")
        if kind == "StasisStart":
            self._start(event)
            return
        channel_id = (event.get("channel") or {}).get("id")
        if kind.startswith("Playback"):
            target = (event.get("playback") or {}).get("target_uri", "")
            channel_id = target.partition("channel:")[2] or None
        with self._lock:
            call = self._calls.get(channel_id)
        if call is not None:
            call.events.put(event)

    def _start(self, event: dict) -> None:
        channel, args = event.get("channel") or {}, event.get("args") or []
        if not args:
            return  # our own snoop and external-media channels enter the app without arguments
        menu = self.menus.get(args[0])
        if menu is None:
            log.warning("the dialplan sent a call to menu %r, which the settings do not define", args[0])
            try:
                self.ari.continue_in_dialplan(channel["id"])
            except AriError:
                pass
            return
        call = MenuCall(self, channel, menu)
        with self._lock:
            self._calls[call.id] = call
        threading.Thread(target=call.run, name=f"menu-{call.id}", daemon=True).start()
