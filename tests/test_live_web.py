"""Calls in progress in the store and the web UI: what the live service writes is what the call
list, the live call page and its event stream show (the real processes are in test_live_calls)."""

from __future__ import annotations

import json
import time

from support.web import recorded_call, talk, write_wav

from appliance.transcript.model import CallMeta


def sse_events(response, count: int) -> list[tuple[str | None, str, dict]]:
    """The first `count` events (id, type, data) of a streamed response."""
    events, block = [], {}
    for chunk in response.response:
        for line in chunk.decode().splitlines():
            if not line:
                if "event" in block:
                    events.append((block.get("id"), block["event"], json.loads(block["data"])))
                    if len(events) == count:
                        response.close()
                        return events
                block = {}
            elif not line.startswith(":") and ":" in line:
                key, _, value = line.partition(":")
                block[key] = value.strip()
    return events


def test_a_new_partial_does_not_reuse_an_id_a_stream_already_sent(store):
    live = store.live.start("1700000000.1", caller="+4930111", callee="201", direction="inbound")
    first = store.live.event(live, "caller", final=False, text="good")
    settled = store.live.event(live, "caller", final=True, text="good morning", start=0.5, end=1.4)
    assert settled > first
    # The final replaced the partial; a reader that had the partial gets the final next.
    assert [(e.text, e.final) for e in store.live.events_since(live, first)] == [("good morning", True)]
    assert [e.text for e in store.live.events_since(live, 0)] == ["good morning"]


def test_the_call_list_shows_calls_in_progress_and_which_have_no_live_text(store, viewer_client):
    store.live.start("1700000000.1", caller="+4930111", callee="201", direction="inbound")
    store.live.start("1700000000.2", caller="+4930222", callee="202", direction="inbound",
                     state="unavailable", reason="limit")
    ended = store.live.start("1700000000.3", caller="+4930333", callee="203", direction="inbound")
    store.live.end(ended)

    html = viewer_client.get("/").get_data(as_text=True)
    box = html.split('id="in-progress"', 1)[1].split("</section>", 1)[0]
    assert "+4930111" in box and ">live<" in box
    assert "+4930222" in box and "live unavailable (too many calls at once)" in box
    assert "+4930333" not in box  # hung up: no longer in progress
    assert viewer_client.get("/live/in-progress").get_data(as_text=True).count("data-live-call") == 2


def test_the_live_page_shows_each_partys_settled_text_and_only_the_latest_provisional_text(store, viewer_client):
    live = store.live.start("1700000000.1", caller="+4930111", callee="201", direction="inbound")
    store.live.event(live, "caller", final=True, text="I would like to book a table", start=1, end=3)
    store.live.event(live, "callee", final=False, text="for how")
    store.live.event(live, "callee", final=False, text="for how many people")

    html = viewer_client.get(f"/live/{live}").get_data(as_text=True)
    assert '<div class="turn s0" data-role="caller">' in html
    assert "I would like to book a table" in html
    assert '<div class="turn s1 partial" data-role="callee">' in html
    assert "for how many people" in html and "for how<" not in html
    assert viewer_client.get("/live/9999").status_code == 404


def test_the_event_stream_sends_new_text_resumes_after_the_last_id_and_says_when_a_call_is_unavailable(
        store, viewer_client):
    live = store.live.start("1700000000.1", caller="+4930111", callee="201", direction="inbound")
    seen = store.live.event(live, "caller", final=True, text="hello", start=0.2, end=0.6)
    store.live.event(live, "callee", final=False, text="good")

    events = sse_events(viewer_client.get(f"/live/{live}/events?after=0"), 3)
    assert [(kind, data.get("role"), data.get("text"), data.get("final")) for _, kind, data in events[:2]] == [
        ("text", "caller", "hello", True), ("text", "callee", "good", False)]
    assert events[2][1:] == ("state", {"state": "live", "reason": None, "call_url": None})

    # A reconnecting EventSource sends the last id it got: only what came after follows.
    resumed = sse_events(viewer_client.get(f"/live/{live}/events", headers={"Last-Event-ID": str(seen)}), 1)
    assert resumed[0][2]["text"] == "good"

    refused = store.live.start("1700000000.2", caller="+4930222", callee="202", direction="inbound",
                               state="unavailable", reason="limit")
    (state,) = sse_events(viewer_client.get(f"/live/{refused}/events"), 1)
    assert state[1:] == ("state", {"state": "unavailable", "reason": "limit", "call_url": None})


def test_a_live_call_whose_service_went_quiet_is_shown_as_stopped(store, viewer_client):
    live = store.live.start("1700000000.1", caller="+4930111", callee="201", direction="inbound")
    store.live.touch([live], now=time.time() - 600)  # the live service was killed ten minutes ago
    assert "+4930111" not in viewer_client.get("/").get_data(as_text=True)
    (state,) = sse_events(viewer_client.get(f"/live/{live}/events"), 1)
    assert state[2]["state"] == "stopped"


def test_the_batch_transcript_replaces_the_live_draft(store, viewer_client, tmp_path):
    live = store.live.start("1700000000.7", caller="+4930111", callee="201", direction="inbound")
    store.live.event(live, "caller", final=True, text="draft words", start=0, end=1)
    store.live.end(live)
    meta = CallMeta(uniqueid="1700000000.7", caller="+4930111", callee="201", direction="inbound")
    call_id = recorded_call(store, [write_wav(tmp_path / "call.wav")], meta,
                            talk([(0, "final words"), (1, "and an answer")])).call_id

    assert viewer_client.get(f"/live/{live}").headers["Location"].endswith(f"/calls/{call_id}")
    text, state = sse_events(viewer_client.get(f"/live/{live}/events"), 2)
    assert text[2]["text"] == "draft words" and state[2]["call_url"].endswith(f"/calls/{call_id}")
    # Pruned once open pages have had time to move over; never before.
    assert store.live.prune(replaced_seconds=3600, keep_seconds=86400) == 0
    assert store.live.prune(replaced_seconds=0, keep_seconds=86400) == 1
    assert store.live.call(live) is None


def test_live_pages_need_a_login(client, store):
    live = store.live.start("1700000000.1", caller="+4930111", callee="201", direction="inbound")
    for path in (f"/live/{live}", f"/live/{live}/events", "/live/in-progress"):
        assert "/login" in client.get(path).headers.get("Location", ""), path
