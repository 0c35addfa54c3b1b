"""Server-sent events: the calls list and call pages update when a job moves on.

The stream is the store's change feed, in the user's scope (appliance/web/streams.py carries it;
the server's hub polls it once a second for all streams together). Nothing is missed: a page
passes the moment it was rendered (`?since=`), every event carries the feed's mark as its id,
and a reconnecting browser sends the last one back (Last-Event-ID).
"""

from __future__ import annotations

import math
import time

from flask import Blueprint, request

from appliance.store import Store
from appliance.web import streams

bp = Blueprint("events", __name__)


def call_event(call) -> dict:
    """A call's change; a failure's case and values too, for the page to say it in the reader's
    language (the English `error` where the page has no text for the case)."""
    failed = call.state in ("failed", "quarantined")
    return {"id": call.id, "state": call.state, "progress": round(call.progress or 0, 3),
            "error": call.error if failed else None, "error_code": call.error_code if failed else None,
            "error_values": call.error_values if failed else {}, "duration": call.duration}


class CallsFeed(streams.Feed):
    poll_seconds = 1.0  # one indexed query for every stream; only a change costs one per scope
    retry_ms = 2000

    def latest(self, store: Store) -> float:
        return store.calls.latest_change()

    def poll(self, store: Store, sub: streams.Subscription) -> list[str]:
        sub.mark, changed = store.calls.changes_since(sub.mark)
        return [streams.sse("call", call_event(call), sub.mark) for call in changed]


FEED = CallsFeed()


def _start_mark() -> float:
    for value in (request.headers.get("Last-Event-ID"), request.args.get("since")):
        try:
            mark = float(value)
        except (TypeError, ValueError):
            continue
        if math.isfinite(mark):  # "nan" and "1e999" parse too
            return mark
    return time.time()


@bp.route("/events")
def stream():
    return streams.subscribe(FEED, _start_mark())
