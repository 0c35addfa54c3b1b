"""One call transcribed live: two taps (what the caller says, what the caller hears = the
callee), each with its own RTP socket, recognizer and thread, publishing to the store.

The dialplan's recording subroutine runs on the caller's channel, so snooping that channel
gives both parties: spy=in is the caller's voice, spy=out the callee's — the same split as the
recording's two channels (MixMonitor D), so live and batch agree on who is who.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from appliance.asterisk.ari import Ari, AriError
from appliance.asterisk.rtp import MediaTap, RtpReceiver, start_tap
from appliance.stt.streaming import Final, StreamEvent, StreamingEngine

log = logging.getLogger(__name__)

# (role, spy direction on the caller's channel)
DIRECTIONS = (("caller", "in"), ("callee", "out"))


@dataclass(frozen=True)
class CallInfo:
    channel_id: str  # the caller's channel (Asterisk's UNIQUEID), the recording's uniqueid
    caller: str | None
    callee: str | None
    direction: str | None


class DirectionStream:
    """One party: RTP socket -> recognizer -> store events, on its own thread."""

    def __init__(self, role: str, recognizer, publish) -> None:
        self.role = role
        self.recognizer = recognizer
        self.publish = publish
        self.receiver = RtpReceiver()
        self.tap: MediaTap | None = None
        self.frames = 0
        self.thread = threading.Thread(target=self._run, name=f"live-{role}", daemon=True)

    def _run(self) -> None:
        try:
            for frame in self.receiver.frames(timeout=0.5):
                self.frames += 1
                self._publish(self.recognizer.accept(frame.samples))
            self._publish(self.recognizer.finish())
        except Exception:  # a recognizer failure ends this party's live text, not the service
            log.exception("live recognition of the %s failed", self.role)

    def _publish(self, events: list[StreamEvent]) -> None:
        for event in events:
            self.publish(self.role, event)


class LiveSession:
    def __init__(self, info: CallInfo, live_id: int, engine: StreamingEngine, ari: Ari, app: str, store) -> None:
        self.info = info
        self.live_id = live_id
        self.ari = ari
        self.app = app
        self.store = store
        self.streams = [DirectionStream(role, engine.recognizer(), self._publish) for role, _ in DIRECTIONS]
        self.started = time.monotonic()

    def start(self) -> None:
        """Tap both directions; raises AriError (after undoing what it made) if Asterisk refuses,
        e.g. because the call has already ended."""
        try:
            for stream, (_, spy) in zip(self.streams, DIRECTIONS):
                stream.thread.start()
                stream.tap = start_tap(self.ari, self.info.channel_id, spy=spy, app=self.app,
                                       port=stream.receiver.port)
        except AriError:
            self.stop()
            raise
        log.info("live call %d: tapped both directions", self.live_id)

    def stop(self) -> None:
        """The call ended (or the service stops): close the taps, flush the last finals."""
        for stream in self.streams:
            if stream.tap is not None:
                stream.tap.stop(self.ari)
            stream.receiver.close()
        for stream in self.streams:
            if stream.thread.is_alive():
                stream.thread.join(timeout=60)  # a last Whisper utterance may still decode
        log.info("live call %d ended after %.1f s (%s frames)", self.live_id, time.monotonic() - self.started,
                 "/".join(str(s.frames) for s in self.streams))

    def _publish(self, role: str, event: StreamEvent) -> None:
        # Sizes only in logs: never what was said.
        final = isinstance(event, Final)
        self.store.live.event(self.live_id, role, final=final, text=event.text, start=event.start,
                              end=event.end if final else None)
