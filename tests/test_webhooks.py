"""CRM webhooks against a real HTTP server on loopback: signed, retried with back-off while the
server is down, visible in the admin's delivery log, never carrying audio."""

import http.server
import json
import socket
import threading
import time

import pytest

from appliance.nlp.stage import run_pending
from appliance.transcript.model import CallMeta
from appliance.webhooks.delivery import WebhookRefused, check_lan_url, deliver_due
from appliance.webhooks.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from support.web import post, recorded_call, talk

SECRET = "s3cret-for-tests"


@pytest.fixture(autouse=True)
def loopback_receiver(monkeypatch):
    """The receiver here listens on 127.0.0.1, which a real box refuses (it is the box's own UI):
    for these tests only, that one address counts as LAN. tests/test_security_input.py attacks
    the real refusal."""
    import ipaddress

    from appliance.webhooks import delivery

    monkeypatch.setattr(delivery, "LAN_NETWORKS", (*delivery.LAN_NETWORKS, ipaddress.ip_network("127.0.0.1/32")))
LINES = [(0, "Hello, I am calling about my order number 4711-0815, it has not arrived."),
         (1, "I am sorry to hear that. Could you give me your phone number please?"),
         (0, "Sure, it is 030 1234567. Please send the replacement order by Friday."),
         (1, "I will send the replacement order today and mail you the tracking number.")]


class Receiver(http.server.BaseHTTPRequestHandler):
    received: list

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        ok = verify(SECRET, self.headers[TIMESTAMP_HEADER], self.headers[SIGNATURE_HEADER], body)
        self.received.append((ok, json.loads(body)))
        self.send_response(204 if ok else 401)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    Receiver.received = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", Receiver.received
    server.shutdown()
    server.server_close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _call(store, tmp_path, uniqueid="1.1"):
    return recorded_call(store, [tmp_path / f"{uniqueid}.wav"], CallMeta(uniqueid=uniqueid, caller="+4930111", callee="200"),
                         talk(LINES)).call_id


def _keys(value) -> set:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


def test_a_finished_call_reaches_the_crm_signed_with_its_insights(store, settings, tmp_path, receiver):
    url, received = receiver
    store.webhooks.save(None, "CRM", url, SECRET, ["call", "keywords", "summary", "entities", "transcript"], True)
    call_id = _call(store, tmp_path)
    assert run_pending(store, settings) == 1

    assert deliver_due(store, settings) == 1
    [(signature_ok, body)] = received
    assert signature_ok
    assert body["event"] == "call.done" and body["call"]["id"] == call_id and body["call"]["caller"] == "+4930111"
    assert any("order" in k.lower() for k in body["keywords"])
    assert {"kind": "order", "value": "4711-0815"} in [{k: e[k] for k in ("kind", "value")} for e in body["entities"]]
    assert {line["speaker"] for line in body["summary"]["lines"]} == {"Caller", "Agent"}
    assert body["transcript"][0]["text"] == LINES[0][1]
    assert not any("audio" in k.lower() or "path" in k.lower() or "recording" in k.lower() for k in _keys(body))
    assert "wav" not in json.dumps(body)
    # Delivered once: the next run sends nothing.
    assert deliver_due(store, settings) == 0 and len(received) == 1
    [delivery] = store.webhooks.deliveries()
    assert (delivery.state, delivery.last_status, delivery.attempts) == ("sent", 204, 1)


def test_a_wrong_secret_fails_verification_and_is_retried(store, settings, tmp_path, receiver):
    url, received = receiver
    store.webhooks.save(None, "CRM", url, "not-the-secret", ["call"], True)
    _call(store, tmp_path)
    run_pending(store, settings)
    deliver_due(store, settings)
    assert received[0][0] is False
    [delivery] = store.webhooks.deliveries()
    assert (delivery.state, delivery.last_status) == ("pending", 401)


def test_a_down_server_gets_retries_with_back_off_then_fails_visibly(store, make_settings, tmp_path, admin_client):
    settings = make_settings(webhook_retry_seconds=10.0, webhook_max_attempts=3)
    store.webhooks.save(None, "Down CRM", f"http://127.0.0.1:{_free_port()}/hook", SECRET, ["call"], True)
    _call(store, tmp_path)
    run_pending(store, settings)
    now, waits = time.time(), []
    for _attempt in range(3):
        assert deliver_due(store, settings, now=now) == 0
        [delivery] = store.webhooks.deliveries()
        waits.append(delivery.next_attempt_at - now)
        assert deliver_due(store, settings, now=now + 1) == 0 and store.webhooks.delivery(delivery.id).attempts == delivery.attempts
        now = delivery.next_attempt_at  # not due before then
    assert delivery.state == "failed" and delivery.attempts == 3
    assert "refused" in delivery.last_error.lower()
    assert waits[:2] == pytest.approx([10.0, 20.0])  # back-off doubles
    assert store.webhooks.due_deliveries(now=now + 1e6) == []
    page = admin_client.get("/admin/webhooks").get_data(as_text=True)
    assert "Down CRM" in page and "failed" in page and "refused" in page.lower()


def test_the_test_button_sends_a_signed_test_and_logs_it(store, admin_client, receiver):
    url, received = receiver
    response = post(admin_client, "/admin/webhooks", {"name": "CRM", "url": url, "secret": SECRET,
                                                      "fields": ["call", "summary"], "enabled": "on"},
                    token_from="/admin/webhooks")
    assert response.status_code == 302
    [hook] = store.webhooks.all()
    assert (hook.url, hook.secret, hook.fields) == (url, SECRET, ("call", "summary"))
    page = post(admin_client, f"/admin/webhooks/{hook.id}/test", token_from="/admin/webhooks")
    assert page.status_code == 302
    [(ok, body)] = received
    assert ok and body["event"] == "test" and set(body) >= {"call", "summary"} and "keywords" not in body
    assert "Test delivered (HTTP 204)" in admin_client.get("/admin/webhooks").get_data(as_text=True)


def test_only_lan_addresses_are_accepted(store, admin_client):
    for url in ("http://8.8.8.8/hook", "ftp://192.168.1.5/x", "http://1.1.1.1:8080/"):
        with pytest.raises(WebhookRefused):
            check_lan_url(url)
    assert check_lan_url("http://192.168.1.20:8000/crm") and check_lan_url("http://[fd00::5]:9/x")
    response = post(admin_client, "/admin/webhooks", {"url": "http://8.8.8.8/hook"}, token_from="/admin/webhooks")
    assert response.status_code == 302 and store.webhooks.all() == []
    assert "not on the LAN" in admin_client.get("/admin/webhooks").get_data(as_text=True)


def test_viewers_cannot_see_or_change_webhooks(viewer_client):
    assert viewer_client.get("/admin/webhooks").status_code == 403
    assert post(viewer_client, "/admin/webhooks", {"url": "http://127.0.0.1:9/"}).status_code == 403
