"""Server-sent events: the calls list and call pages update when a job moves on.

Each stream polls the store's change feed (cheap: one indexed query a second) on its own
connection and ends after a few minutes; the browser's EventSource reconnects by itself, so
a stream never pins a server thread for long. Nothing is missed in between: a page passes the
moment it was rendered (`?since=`), every event carries the feed's mark as its id, and a
reconnecting browser sends the last one back (Last-Event-ID).
"""

from __future__ import annotations

import json
import time

from flask import Blueprint, Response, current_app, request, stream_with_context

from appliance.store import Store
from appliance.web import get_store

bp = Blueprint("events", __name__)
POLL_SECONDS = 1.0
STREAM_SECONDS = 300
KEEPALIVE_SECONDS = 15


def call_event(call) -> dict:
    return {"id": call.id, "state": call.state, "progress": round(call.progress or 0, 3),
            "error": call.error if call.state in ("failed", "quarantined") else None,
            "duration": call.duration}


def _start_mark() -> float:
    for value in (request.headers.get("Last-Event-ID"), request.args.get("since")):
        try:
            return float(value)
        except (TypeError, ValueError):
            continue
    return time.time()


@bp.route("/events")
def stream():
    settings = current_app.config["APPLIANCE_SETTINGS"]
    start = _start_mark()
    scope = get_store().scope  # the user's: only their calls' changes

    @stream_with_context
    def generate():
        store = Store.open(settings, scope)
        try:
            mark = start
            started = last_sent = time.monotonic()
            yield "retry: 2000\n\n"
            while time.monotonic() - started < STREAM_SECONDS:
                mark, changed = store.changes_since(mark)
                for call in changed:
                    yield f"id: {mark!r}\nevent: call\ndata: {json.dumps(call_event(call))}\n\n"
                    last_sent = time.monotonic()
                if time.monotonic() - last_sent > KEEPALIVE_SECONDS:
                    yield ": keepalive\n\n"
                    last_sent = time.monotonic()
                time.sleep(POLL_SECONDS)
        finally:
            store.close()

    return Response(generate(), mimetype="text/event-stream",
                    headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
