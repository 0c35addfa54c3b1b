"""Asterisk's ARI event stream (a websocket on loopback), as plain dicts, with reconnects.

Use:

    events = AriEvents.from_settings(settings, app="appliance-live", subscribe_all=True)
    for event in events:            # blocks; reconnects with back-off; ends after stop()
        handle(event)               # e.g. {"type": "StasisStart", "channel": {...}, ...}

or `events.run(handler)` / `events.start(handler)` (a daemon thread). `stop()` from any thread
ends the iteration. `on_connect` (optional) is called after each (re)connect, so a consumer can
re-read the state it may have missed while the stream was down (ARI does not replay events).

websocket-client (pinned in pyproject.toml) is synchronous and small: one reader thread per
service is all the appliance needs, and ARI listens on 127.0.0.1 only, so no TLS here.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import urllib.parse
from typing import Callable, Iterator

from appliance.config import Settings

log = logging.getLogger(__name__)

Handler = Callable[[dict], None]


class AriEvents:
    """An ARI event websocket for one Stasis application; iterate it for event dicts."""

    def __init__(self, port: int, password: str, app: str, *, user: str = "appliance",
                 host: str = "127.0.0.1", subscribe_all: bool = False,
                 backoff: tuple[float, float] = (0.5, 10.0),
                 on_connect: Callable[[], None] | None = None) -> None:
        query = {"app": app, "subscribeAll": "true" if subscribe_all else None}
        self.url = f"ws://{host}:{port}/ari/events?" + urllib.parse.urlencode(
            {k: v for k, v in query.items() if v is not None})
        self.auth = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        self.app = app
        self.backoff = backoff
        self.on_connect = on_connect
        self.connected = threading.Event()
        self._stop = threading.Event()
        self._ws = None
        self._thread: threading.Thread | None = None

    @classmethod
    def from_settings(cls, settings: Settings, app: str, **kwargs) -> "AriEvents":
        from appliance.asterisk.install import load_secrets

        return cls(settings.asterisk_http_port, load_secrets(settings)["ari_password"], app, **kwargs)

    def __iter__(self) -> Iterator[dict]:
        import websocket  # websocket-client; light, but only services need it

        delay = self.backoff[0]
        while not self._stop.is_set():
            try:
                self._ws = websocket.create_connection(self.url, header=[f"Authorization: {self.auth}"],
                                                       timeout=5)
            except (OSError, websocket.WebSocketException) as exc:
                log.info("ARI events not reachable (%s); retrying in %.1f s", type(exc).__name__, delay)
                self._stop.wait(delay)
                delay = min(delay * 2, self.backoff[1])
                continue
            delay = self.backoff[0]
            self._ws.settimeout(1.0)  # wake up now and then to notice stop()
            self.connected.set()
            log.info("ARI events connected (app %s)", self.app)
            if self.on_connect:
                self.on_connect()
            try:
                while not self._stop.is_set():
                    try:
                        message = self._ws.recv()
                    except websocket.WebSocketTimeoutException:
                        continue
                    if not message:  # closed by Asterisk (restart, module reload)
                        break
                    try:
                        event = json.loads(message)
                    except ValueError:
                        log.warning("ARI sent a message that is not JSON (%d bytes)", len(message))
                        continue
                    if isinstance(event, dict):
                        yield event
            except (OSError, websocket.WebSocketException) as exc:
                log.info("ARI events lost (%s); reconnecting", type(exc).__name__)
            finally:
                self.connected.clear()
                self._close()

    def run(self, handler: Handler) -> None:
        """Call `handler(event)` for every event until stop(); a failing handler is logged, not fatal."""
        for event in self:
            try:
                handler(event)
            except Exception:  # one bad event must not end the stream for every call
                log.exception("handling ARI event %s failed", event.get("type"))

    def start(self, handler: Handler) -> threading.Thread:
        """run(handler) on a daemon thread."""
        self._thread = threading.Thread(target=self.run, args=(handler,), name="ari-events", daemon=True)
        self._thread.start()
        return self._thread

    def stop(self) -> None:
        self._stop.set()
        self._close()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    def _close(self) -> None:
        ws, self._ws = self._ws, None
        if ws is not None:
            try:
                ws.close()
            except Exception:  # already broken; closing is best effort
                pass
