"""Availability attacks against a real `appliance serve`: searches that cost the server more than
it can give one request, and connections that would tie up the request threads."""

from __future__ import annotations

import json
import socket
import urllib.parse

import pytest

from appliance.transcript.model import CallMeta
from support.served import read_until
from support.web import recorded_call, talk, write_wav


HEALTH = (200, 503)  # /healthz answered (503: no Asterisk or worker in this test)


def _search(path: str, query: str) -> str:
    return f"{path}?{urllib.parse.urlencode({'q': query})}"


@pytest.mark.parametrize("query", ["a* " * 10000, "the " * 10000, "x " * 251,
                                   " ".join(f"w{n}" for n in range(33)), "a*", '"i"*'])
def test_a_search_beyond_the_limits_is_a_readable_400_on_the_page_and_the_api(served, query):
    vic = served.login("vic")
    page = vic.get(_search("/search", query))
    assert page.status == 400
    assert "at most 500 characters and 32 words" in page.text
    api = vic.get(_search("/api/search", query))
    assert api.status == 400
    assert api.headers["Content-Type"].startswith("application/json")
    assert "error" in json.loads(api.body)
    assert vic.get("/healthz").status in HEALTH  # the request threads are free again


def test_the_limit_message_is_german_for_a_german_user(served):
    with served.store() as store:
        store.users.set_locale(store.users.by_name("vic").id, "de")
    try:
        page = served.login("vic").get(_search("/search", "the " * 200))
    finally:
        with served.store() as store:
            store.users.set_locale(store.users.by_name("vic").id, "en")
    assert page.status == 400
    assert "höchstens 500 Zeichen und 32 Wörter" in page.text


def test_a_search_within_the_limits_still_finds_the_call(served):
    vic = served.login("vic")
    # The repeated word counts once; a two-letter prefix is allowed.
    page = vic.get(_search("/search", "invoice " * 40 + "ov*"))
    assert page.status == 200
    assert f"/calls/{served.other_call}" in page.text


def test_the_command_line_refuses_a_search_beyond_the_limits_in_one_line(served):
    done = served.cli("search", "the " * 10000, check=False)
    assert done.returncode != 0
    assert "too long" in done.stderr and "Traceback" not in done.stderr


# --- event streams hold no request thread ------------------------------------------------------


def _close(sockets) -> None:
    for sock in sockets:
        sock.close()


def test_thirty_streams_of_one_user_leave_pages_answering_and_the_cap_answers_429(served):
    vic = served.login("vic")
    statuses, sockets = [], []
    try:
        for _ in range(30):
            status, sock, _head = vic.open_stream("/events")
            statuses.append(status)
            sockets.append(sock)
        assert statuses == [200] * 20 + [429] * 10
        # More streams than the old server had threads are open: pages still answer.
        assert vic.get("/healthz").status in HEALTH
        assert served.browser().get("/login").status == 200
        assert vic.get(_search("/search", "invoice")).status == 200
        # Another user's streams are not counted against this one's.
        status, sock, _head = served.login("agent").open_stream("/events")
        sockets.append(sock)
        assert status == 200
    finally:
        _close(sockets)
    # Closed streams are given back: the user may open new ones (the server notices the close
    # at once; the poll is the bound of the wait, not a timing assertion).
    for _ in range(100):
        status, sock, _head = vic.open_stream("/events")
        sock.close()
        if status == 200:
            break
    assert status == 200


STREAM_END = b"\r\n0\r\n\r\n"  # the last chunk of a chunked response


def test_a_stream_ends_when_its_user_logs_out(served):
    vic = served.login("vic")
    status, sock, seen = vic.open_stream("/events")
    try:
        assert status == 200
        assert vic.post("/logout", {}, token_from="/").status == 302
        read_until(sock, STREAM_END, seen)  # within a poll or two, not the stream's 5 minutes
    finally:
        sock.close()


def test_a_stream_ends_when_its_account_is_disabled_and_the_others_go_on(served):
    with served.store() as store:
        agent_id = store.users.by_name("agent").id
    status, agents, seen = served.login("agent").open_stream("/events")
    _, vics, _ = served.login("vic").open_stream("/events")
    admin = served.login("admin")
    try:
        assert status == 200
        assert admin.post(f"/admin/users/{agent_id}", {"action": "disable"}, token_from="/admin/users").status == 302
        read_until(agents, STREAM_END, seen)
        vics.settimeout(3)  # vic's stream is still open: nothing ends it
        with pytest.raises(TimeoutError):
            read_until(vics, STREAM_END)
    finally:
        admin.post(f"/admin/users/{agent_id}", {"action": "enable"}, token_from="/admin/users")
        _close([agents, vics])


def test_a_stream_sends_the_changes_of_the_users_own_calls_only(served):
    status, sock, seen = served.login("agent").open_stream("/events?since=0")
    try:
        assert status == 200
        seen = read_until(sock, b'"id": %d,' % served.own_call, seen)
        # Both calls changed before `since=0`: one poll sends the replay together. Whatever
        # else comes within a few seconds, the other call is not in it.
        sock.settimeout(3)
        try:
            while chunk := sock.recv(65536):
                seen += chunk
        except TimeoutError:
            pass
        assert b'"id": %d,' % served.other_call not in seen
    finally:
        sock.close()
    status, sock, seen = served.login("vic").open_stream("/events?since=0")
    try:
        read_until(sock, b'"id": %d,' % served.other_call, seen)
    finally:
        sock.close()


def test_a_hundred_and_ten_idle_connections_do_not_stop_the_login_page(served):
    idle = []
    try:
        for n in range(110):
            sock = socket.create_connection((served.host, served.port), timeout=10)
            if n % 2:
                sock.sendall(b"GET /login HTTP/1.1\r\nHost: x\r\n")  # a head never finished
            idle.append(sock)
        assert served.browser().get("/login").status == 200
        assert served.browser().get("/healthz").status in HEALTH
    finally:
        _close(idle)


def test_request_bodies_that_never_arrive_hold_no_page_thread(served):
    slow = []
    try:
        for _ in range(40):  # more than the page threads
            sock = socket.create_connection((served.host, served.port), timeout=10)
            sock.sendall(b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                         b"Content-Length: 1000\r\n\r\nusername=adm")
            slow.append(sock)
        assert served.browser().get("/login").status == 200
    finally:
        _close(slow)


def test_thirty_stalled_downloads_of_a_recording_hold_no_page_thread(served, tmp_path):
    """Listeners that stop reading a long recording (more than the page threads) leave pages
    answering: the server sends files from its event loop, not from a page's thread."""
    with served.store() as store:
        folder = served.data_dir / "recordings"
        long_call = recorded_call(store, [write_wav(folder / "served-long.wav", 600.0)],  # 19 MB
                                  CallMeta(uniqueid="served-long", caller="203"), talk([(0, "a long call")]))
    vic = served.login("vic")
    cookie = "; ".join(f"{k}={v}" for k, v in vic.cookies.items())
    stalled = []
    try:
        for _ in range(30):
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a listener that reads nothing
            sock.settimeout(10)
            sock.connect((served.host, served.port))
            sock.sendall(f"GET /calls/{long_call.call_id}/audio HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\n\r\n"
                         .encode())
            stalled.append(sock)
        assert read_until(stalled[-1], b"\r\n\r\n").startswith(b"HTTP/1.1 200")
        assert vic.get("/healthz").status in HEALTH
        assert vic.get(f"/calls/{served.own_call}").status == 200
        assert vic.get(f"/calls/{served.own_call}/audio").body[:4] == b"RIFF"  # a reader who reads
    finally:
        _close(stalled)


def test_a_body_larger_than_the_limit_is_refused_with_413(served):
    answer = served.browser().request("POST", "/login", body=b"x" * (2 << 20),
                                      headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert answer.status == 413


def test_a_live_call_streams_its_text_through_the_hub_to_its_scope_only(served):
    with served.store() as store:
        own = store.live.start("load-live-own", caller="201", callee="+4930111", direction="outbound")
        other = store.live.start("load-live-other", caller="202", callee="+4930222", direction="outbound")
        for live in (own, other):
            store.live.event(live, "caller", final=True, text="good morning", start=0.0, end=1.0)
    agent = served.login("agent")
    status, refused, _head = agent.open_stream(f"/live/{other}/events")
    refused.close()
    assert status == 404
    status, sock, seen = agent.open_stream(f"/live/{own}/events?after=0")
    try:
        assert status == 200
        seen = read_until(sock, b"event: state", seen)
        assert b'"text": "good morning"' in seen and b"event: text" in seen
        with served.store() as store:
            store.live.event(own, "callee", final=False, text="hello there")
        read_until(sock, b'"text": "hello there"', seen)  # the shared poller sent it on
    finally:
        sock.close()
