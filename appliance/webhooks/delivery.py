"""Sending webhooks: due deliveries from the store, POSTed with retries and back-off.

Only private LAN addresses are allowed: the box never sends call text to the internet, nor to
itself (loopback: its own UI) or to link-local, multicast or reserved addresses, even if an
admin types such a URL. The name is resolved once, every address it resolves to is checked,
and the request goes to the checked address itself (the name only in Host and TLS), so a
second lookup cannot point elsewhere; redirects are never followed.

A webhook marked as a name source is the LAN CRM: its answer about a call may name numbers,
which go to the address book (appliance/webhooks/answers.py says what it may answer).
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import logging
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from appliance.config import Settings
from appliance.errors import ApplianceError, NotFound
from appliance.store.retry import retry_at
from appliance.store.webhooks import Note
from appliance.webhooks import answers, payload, signing

log = logging.getLogger(__name__)

# The LAN: RFC 1918 and IPv6 unique local addresses. Everything else is refused.
LAN_NETWORKS = tuple(ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"))


class WebhookRefused(ApplianceError):
    """A webhook URL that is not http(s) or not on the LAN."""

    permanent = True


def _parts(url: str):
    """The URL's parts; WebhookRefused for anything but a well-formed http(s) URL with a host."""
    url = url.strip()
    if any(ord(c) < 33 or ord(c) == 127 for c in url):
        raise WebhookRefused("a webhook URL contains no spaces, line breaks or control characters", "url-characters")
    try:
        parts = urlsplit(url)
        port = parts.port  # ValueError outside 0-65535
    except ValueError as exc:
        raise WebhookRefused(f"this is not a valid URL ({exc})", "url-invalid") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WebhookRefused("a webhook URL starts with http:// or https:// and names a host", "url-scheme")
    if port == 0:
        raise WebhookRefused("port 0 is not a port a webhook can be sent to", "url-port")
    return parts


def _on_lan(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is loopback
    return any(ip in network for network in LAN_NETWORKS)


def _lan_address(parts) -> str:
    """The one address to connect to: every address the host resolves to must be on the LAN."""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = [info[4][0] for info in socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)]
    except (socket.gaierror, UnicodeError) as exc:
        raise WebhookRefused(f"the webhook host {parts.hostname} cannot be resolved ({exc})", "host-unknown",
                             host=parts.hostname) from None
    for address in addresses:
        if not _on_lan(address):
            raise WebhookRefused(
                f"{parts.hostname} ({address}) is not on the LAN: webhooks only go to private addresses",
                "not-lan", host=parts.hostname, address=address)
    return addresses[0]


def check_lan_url(url: str) -> str:
    """The URL if it is http(s) to a LAN host; WebhookRefused (with the reason) otherwise."""
    _lan_address(_parts(url))
    return url.strip()


class WebhookHTTPError(OSError):
    """The receiver answered, but not with 2xx (a redirect included)."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"HTTP {code} {reason}")
        self.code, self.reason = code, reason


class _Pinned:
    """A connection to the checked address; `host` (the name) goes in the Host header and TLS."""

    def __init__(self, host: str, port: int | None, address: str, timeout: float, **options) -> None:
        super().__init__(host, port, timeout=timeout, **options)
        self.address = address

    def _pinned_socket(self) -> socket.socket:
        return socket.create_connection((self.address, self.port), self.timeout)


class _PinnedHTTP(_Pinned, http.client.HTTPConnection):
    def connect(self) -> None:
        self.sock = self._pinned_socket()


class _PinnedHTTPS(_Pinned, http.client.HTTPSConnection):
    """The certificate is checked against the name, not the address."""

    def __init__(self, host: str, port: int | None, address: str, timeout: float) -> None:
        super().__init__(host, port, address, timeout, context=ssl.create_default_context())

    def connect(self) -> None:
        self.sock = self._context.wrap_socket(self._pinned_socket(), server_hostname=self.host)


@dataclass(frozen=True)
class Reply:
    """A 2xx answer; `body` is cut at one byte over answers.MAX_BYTES (that byte says it was longer)."""

    status: int
    body: bytes
    content_type: str | None


def post(url: str, secret: str, body: dict, timeout: float) -> Reply:
    """POST the signed body; returns the answer, raises OSError for anything but 2xx.

    A redirect is an answer like any other non-2xx: not followed (its target was never
    checked). No proxy either: a proxy would carry call text off the LAN."""
    parts = _parts(url)
    address = _lan_address(parts)
    data = json.dumps(body, ensure_ascii=False).encode()
    connection_type = _PinnedHTTPS if parts.scheme == "https" else _PinnedHTTP
    connection = connection_type(parts.hostname, parts.port, address, timeout)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    try:
        connection.request("POST", target, body=data, headers={
            "Content-Type": "application/json", "User-Agent": "call-appliance", **signing.headers(secret, data)})
        response = connection.getresponse()
        answer = response.read(answers.MAX_BYTES + 1)
    finally:
        connection.close()
    if not 200 <= response.status < 300:
        raise WebhookHTTPError(response.status, response.reason)
    return Reply(response.status, answer, response.getheader("Content-Type"))


def _take_names(store, webhook, call, reply: Reply) -> Note | None:
    """The names a name source's answer gives, into the address book (audited: how many, from
    which webhook, never which numbers); what came of it, or None for an answer naming nobody."""
    try:
        entries = answers.names(reply.body, reply.content_type, call.caller, call.callee)
    except answers.BadAnswer as exc:
        log.warning("webhook %d: its answer names nobody (%s)", webhook.id, exc.code)
        return Note(f"no names taken: {exc}", exc.code, exc.values)
    if not entries:
        return None
    with store.audit.entry(None, "crm-names", f"webhook {webhook.name}", f"{len(entries)} from the CRM"):
        changed = store.contacts.save(entries, "crm")
    log.info("webhook %d: %d names taken, %d new or changed", webhook.id, len(entries), changed)
    return Note(f"names taken: {len(entries)} (new or changed in the address book: {changed})", "answer-names",
                {"n": len(entries), "changed": changed})


def _attempt(store, settings: Settings, delivery, webhook, body: dict, now: float, call=None) -> bool:
    status, error, reply = None, None, None
    try:
        reply = post(webhook.url, webhook.secret, body, settings.webhook_timeout_seconds)
        status = reply.status
    except WebhookHTTPError as exc:
        status, error = exc.code, str(exc)
    except WebhookRefused as exc:
        error = str(exc)
    except (OSError, ValueError, http.client.HTTPException) as exc:  # refused, timed out, unreachable, garbled
        error = f"{type(exc).__name__}: {getattr(exc, 'reason', None) or exc}"
    if error is None:
        note = _take_names(store, webhook, call, reply) if webhook.name_source and call is not None else None
        store.webhooks.record_attempt(delivery.id, "sent", status, None, now=now, note=note)
        log.info("webhook %d: %s for call %s delivered (HTTP %s)", webhook.id, delivery.event, delivery.call_id, status)
        return True
    attempts = delivery.attempts + 1
    final = attempts >= settings.webhook_max_attempts or delivery.event == "test"
    store.webhooks.record_attempt(delivery.id, "failed" if final else "pending", status, error,
                                  retry_at(now, settings.webhook_retry_seconds, attempts), now=now)
    log.warning("webhook %d: %s for call %s failed (attempt %d)", webhook.id, delivery.event, delivery.call_id, attempts)
    return False


def deliver_due(store, settings: Settings, now: float | None = None) -> int:
    """Attempt every due delivery once; returns how many went through."""
    now = time.time() if now is None else now
    sent = 0
    for delivery in store.webhooks.due_deliveries(now=now):
        webhook = store.webhooks.get(delivery.webhook_id)
        try:
            call = store.calls.get(delivery.call_id)
        except NotFound:
            continue  # deleted: its delivery rows went with it
        body = payload.build(call, store.transcripts.get(call.id), store.insights.of_calls([call.id]).get(call.id),
                             webhook.fields, f"{settings.site_url()}/calls/{call.id}", settings.zone,
                             delivery.event, store.alerts.of_call(call.id))
        sent += _attempt(store, settings, delivery, webhook, body, now, call)
    return sent


def send_test(store, settings: Settings, webhook_id: int):
    """The admin's test button: one signed request now, its result in the delivery log."""
    now = time.time()
    webhook = store.webhooks.get(webhook_id)
    delivery = store.webhooks.delivery(store.webhooks.add_test_delivery(webhook_id, now=now))
    _attempt(store, settings, delivery, webhook, payload.test_body(webhook.fields), now)
    return store.webhooks.delivery(delivery.id)
