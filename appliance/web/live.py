"""Calls in progress: the live page of one call, its event stream, and the in-progress list.

The live service (`appliance live`) is another process; it writes partial and final text into
the store (appliance/store/live.py) and this blueprint streams it to the browser by
server-sent events. Event ids are the store's, so a reconnecting EventSource (Last-Event-ID)
continues exactly where it stopped. When the batch transcript of the call is done, the stream
says so and the page moves to the call's normal page: the final transcript replaces the draft.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for

from appliance.store import Store
from appliance.web import get_store, streams
from appliance.web.inputs import bounded_int

bp = Blueprint("live", __name__)
# The live service touches its calls every few seconds; silent longer means it stopped.
STALE_SECONDS = 20.0


def call_urls() -> Callable[[int], str]:
    """The call page's address by call id, built without a request (the hub's poller has none)."""
    urls = current_app.url_map.bind("", script_name=request.script_root or "/")
    return lambda call_id: urls.build("calls.show", {"call_id": call_id})


def live_state(call, call_url: Callable[[int], str]) -> dict:
    stale = call.state == "live" and time.time() - call.seen_at > STALE_SECONDS
    return {"state": "stopped" if stale else call.state, "reason": call.reason,
            "call_url": call_url(call.call_id) if call.call_id else None}


def calls_in_progress() -> list:
    """For the calls list (a Jinja global): calls the live service is at right now."""
    return get_store().live.in_progress(STALE_SECONDS)


def init_app(app) -> None:
    app.register_blueprint(bp)
    app.jinja_env.globals["live_calls_in_progress"] = calls_in_progress


@bp.route("/live/<int:live_id>")
def show(live_id: int):
    call = get_store().live.call(live_id)
    if call is None:
        abort(404)
    if call.call_id:  # the batch transcript exists (only after hangup): it replaces the draft
        return redirect(url_for("calls.show", call_id=call.call_id))
    events = get_store().live.events_since(live_id, 0)
    # Partials are whole provisional texts: only each party's latest one is shown.
    latest = {e.role: e.id for e in events if not e.final}
    events = [e for e in events if e.final or latest[e.role] == e.id]
    return render_template("live.html", call=call, state=live_state(call, call_urls()), events=events,
                           last_id=max((e.id for e in events), default=0))


@bp.route("/live/in-progress")
def in_progress():
    """The in-progress box of the calls list, re-fetched by the page while it is open."""
    return render_template("_live_calls.html")


class LiveFeed(streams.Feed):
    poll_seconds = 0.25  # one indexed query per live call and scope; partial text should feel immediate
    retry_ms = 1000

    def poll(self, store: Store, sub: streams.Subscription) -> list[str]:
        chunks = []
        for event in store.live.events_since(sub.live_id, int(sub.mark)):
            sub.mark = event.id
            data = {"role": event.role, "final": event.final, "text": event.text, "start": event.start}
            chunks.append(streams.sse("text", data, event.id))
        call = store.live.call(sub.live_id)
        state = live_state(call, sub.call_url) if call else {"state": "gone", "reason": None, "call_url": None}
        if state != sub.last_state:
            chunks.append(streams.sse("state", state))
            sub.last_state = state
        sub.done = call is None or bool(state["call_url"])
        return chunks


FEED = LiveFeed()


@bp.route("/live/<int:live_id>/events")
def stream(live_id: int):
    after = bounded_int(request.headers.get("Last-Event-ID") or request.args.get("after"), 0)
    if get_store().live.call(live_id) is None:
        abort(404)
    return streams.subscribe(FEED, after, live_id=live_id, call_url=call_urls())
