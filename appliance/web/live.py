"""Calls in progress: the live page of one call, its event stream, and the in-progress list.

The live service (`appliance live`) is another process; it writes partial and final text into
the store (appliance/store/live.py) and this blueprint streams it to the browser by
server-sent events. Event ids are the store's, so a reconnecting EventSource (Last-Event-ID)
continues exactly where it stopped. When the batch transcript of the call is done, the stream
says so and the page moves to the call's normal page: the final transcript replaces the draft.
"""

from __future__ import annotations

import json
import time

from flask import Blueprint, Response, abort, redirect, render_template, request, stream_with_context, url_for

from appliance.store import Store
from appliance.web import get_store, settings

bp = Blueprint("live", __name__)
POLL_SECONDS = 0.25  # one indexed query; partial text should feel immediate
STREAM_SECONDS = 300
KEEPALIVE_SECONDS = 15
# The live service touches its calls every few seconds; silent longer means it stopped.
STALE_SECONDS = 20.0


def live_state(call) -> dict:
    stale = call.state == "live" and time.time() - call.seen_at > STALE_SECONDS
    return {"state": "stopped" if stale else call.state, "reason": call.reason,
            "call_url": url_for("calls.show", call_id=call.call_id) if call.call_id else None}


def calls_in_progress() -> list:
    """For the calls list (a Jinja global): calls the live service is at right now."""
    return get_store().live_in_progress(STALE_SECONDS)


def init_app(app) -> None:
    app.register_blueprint(bp)
    app.jinja_env.globals["live_calls_in_progress"] = calls_in_progress


@bp.route("/live/<int:live_id>")
def show(live_id: int):
    call = get_store().live_call(live_id)
    if call is None:
        abort(404)
    if call.call_id:  # the batch transcript exists (only after hangup): it replaces the draft
        return redirect(url_for("calls.show", call_id=call.call_id))
    events = get_store().live_events_since(live_id, 0)
    # Partials are whole provisional texts: only each party's latest one is shown.
    latest = {e.role: e.id for e in events if not e.final}
    events = [e for e in events if e.final or latest[e.role] == e.id]
    return render_template("live.html", call=call, state=live_state(call), events=events,
                           last_id=max((e.id for e in events), default=0))


@bp.route("/live/in-progress")
def in_progress():
    """The in-progress box of the calls list, re-fetched by the page while it is open."""
    return render_template("_live_calls.html")


@bp.route("/live/<int:live_id>/events")
def stream(live_id: int):
    app_settings = settings()
    try:
        after = int(request.headers.get("Last-Event-ID") or request.args.get("after") or 0)
    except ValueError:
        after = 0
    if get_store().live_call(live_id) is None:
        abort(404)
    scope = get_store().scope

    @stream_with_context
    def generate():
        store = Store.open(app_settings, scope)
        try:
            mark, last_state = after, None
            started = last_sent = time.monotonic()
            yield "retry: 1000\n\n"
            while time.monotonic() - started < STREAM_SECONDS:
                for event in store.live_events_since(live_id, mark):
                    mark = event.id
                    data = {"role": event.role, "final": event.final, "text": event.text, "start": event.start}
                    yield f"id: {event.id}\nevent: text\ndata: {json.dumps(data)}\n\n"
                    last_sent = time.monotonic()
                call = store.live_call(live_id)
                state = live_state(call) if call else {"state": "gone", "reason": None, "call_url": None}
                if state != last_state:
                    yield f"event: state\ndata: {json.dumps(state)}\n\n"
                    last_state, last_sent = state, time.monotonic()
                if time.monotonic() - last_sent > KEEPALIVE_SECONDS:
                    yield ": keepalive\n\n"
                    last_sent = time.monotonic()
                if call is None or state["call_url"]:
                    return
                time.sleep(POLL_SECONDS)
        finally:
            store.close()

    return Response(generate(), mimetype="text/event-stream",
                    headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
