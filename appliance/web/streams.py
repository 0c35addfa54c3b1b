"""Server-sent event streams: what a stream sends, and how a Flask view hands it to the server.

A stream must not hold a request thread for its lifetime (24 open tabs once froze every page).
So the Flask view of a stream only does what every page does: the login (same session cookie,
same user loader, same before_request hooks and headers), the user's scope and the arguments.
Under `appliance serve` (appliance/web/server.py) it then hands a Subscription to the server's
hub (appliance/web/hub.py), which keeps the connection open without a thread and feeds every
stream from one shared poller. Without the hub (a plain WSGI server, the tests' client) a stream
sends what is new and ends; the browser's EventSource reconnects after `retry` milliseconds
with Last-Event-ID, so nothing is missed either way.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from flask import Response, abort, current_app, request
from flask_babel import gettext as _
from flask_login import current_user

from appliance.store import Store
from appliance.store.scopes import Scope

STREAMS_PER_USER = 20  # open streams of one account; the next one answers 429
HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
HUB_KEY = "appliance.hub"  # where the server puts its hub in the ASGI scope
SUBSCRIPTION_KEY = "appliance.subscription"  # where a view leaves its stream for the hub
FILE_KEY = "appliance.file"  # where a view leaves a file for the server to send (path, start, length)


def send_file_later(response: Response, path, start: int, length: int) -> bool:
    """Leave the body of `response` (bytes start..start+length of a file) to `appliance serve`,
    which sends it from its event loop instead of the view's thread; False without that server
    (the tests' client, a plain WSGI server): the view then streams the body itself."""
    scope = request.environ.get("asgi.scope")
    if scope is None or FILE_KEY not in scope or request.method == "HEAD":
        return False
    scope[FILE_KEY] = (str(path), start, length)
    response.headers["Content-Length"] = str(length)
    return True


def sse(event: str, data: dict, event_id=None) -> str:
    head = f"id: {event_id!r}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data)}\n\n"


class Feed:
    """What a kind of stream sends (events.py: the calls feed; live.py: a live call's text)."""

    poll_seconds = 1.0
    retry_ms = 2000

    def latest(self, store: Store) -> float | None:
        """The feed's position for every scope, if it can be told in one cheap query: then a
        stream at or past it has nothing new and costs no poll (None: poll every stream)."""
        return None

    def poll(self, store: Store, sub: Subscription) -> list[str]:
        """What is new for `sub`, as SSE chunks (`store` sees `sub.scope`); advances `sub`."""
        raise NotImplementedError


@dataclass
class Subscription:
    """One open stream: whose, which feed, and how far it has been sent."""

    user_id: int
    session_version: int  # the login the stream was opened under (appliance/web/auth.py)
    scope: Scope
    feed: Feed
    mark: float  # the feed's position this stream has been sent up to
    live_id: int | None = None
    call_url: Callable[[int], str] | None = None  # live: the call's page, once transcribed
    last_state: dict | None = None  # live: the state last sent
    done: bool = False  # the feed has nothing more to send: the stream ends

    def key(self) -> tuple:
        """Streams with equal keys get the same chunks from one poll."""
        return (id(self.feed), self.scope, self.live_id, self.mark, json.dumps(self.last_state))

    def follow(self, other: Subscription) -> None:
        """Take `other`'s position after a poll that served both."""
        self.mark, self.last_state, self.done = other.mark, other.last_state, other.done


class StreamCounts:
    """Open streams per account, counted across the server's threads (the cap)."""

    def __init__(self, cap: int = STREAMS_PER_USER):
        self.cap = cap
        self._open: Counter[int] = Counter()
        self._lock = threading.Lock()

    def reserve(self, user_id: int) -> bool:
        with self._lock:
            if self._open[user_id] >= self.cap:
                return False
            self._open[user_id] += 1
            return True

    def release(self, user_id: int) -> None:
        with self._lock:
            self._open[user_id] -= 1
            if self._open[user_id] <= 0:
                del self._open[user_id]


def subscribe(feed: Feed, mark: float, **kwargs) -> Response:
    """A stream view's answer: the stream handed to the hub under `appliance serve`; without
    one (a plain WSGI server), what is new now, and the browser comes back for more."""
    sub = Subscription(current_user.record.id, current_user.record.session_version, current_user.scope, feed,
                       mark, **kwargs)
    retry = f"retry: {feed.retry_ms}\n\n"
    asgi_scope = request.environ.get("asgi.scope", {})
    hub = asgi_scope.get(HUB_KEY)
    if hub is not None:
        if not hub.counts.reserve(sub.user_id):
            abort(429, _("Too many open live views for this account: close some tabs and reload."))
        asgi_scope[SUBSCRIPTION_KEY] = sub
        # An iterable body: no Content-Length, the hub goes on writing to this response.
        return Response(iter([retry]), mimetype="text/event-stream", headers=HEADERS)
    store = Store.open(current_app.config["APPLIANCE_SETTINGS"], sub.scope)
    try:
        chunks = feed.poll(store, sub)
    finally:
        store.close()
    return Response(iter([retry, *chunks]), mimetype="text/event-stream", headers=HEADERS)
