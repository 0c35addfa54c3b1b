"""Sending webhooks: due deliveries from the store, POSTed with retries and back-off.

Only LAN addresses are allowed (private, loopback or link-local, after name resolution):
the box never sends call text to the internet, even if an admin types a public URL.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import socket
import time
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from appliance.errors import ApplianceError, NotFound
from appliance.mail import public_url
from appliance.webhooks import payload, signing

log = logging.getLogger(__name__)


class WebhookRefused(ApplianceError):
    """A webhook URL that is not http(s) or not on the LAN."""

    permanent = True


def check_lan_url(url: str) -> str:
    """The URL if it is http(s) to a LAN host; WebhookRefused (with the reason) otherwise."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WebhookRefused("a webhook URL starts with http:// or https:// and names a host")
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(parts.hostname, parts.port or 80)}
    except (socket.gaierror, UnicodeError) as exc:
        raise WebhookRefused(f"the webhook host {parts.hostname} cannot be resolved ({exc})") from None
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if not (ip.is_private or ip.is_loopback or ip.is_link_local) or ip.is_multicast:
            raise WebhookRefused(
                f"{parts.hostname} ({address}) is not on the LAN: webhooks only go to private addresses")
    return url.strip()


def post(url: str, secret: str, body: dict, timeout: float) -> int:
    """POST the signed body; returns the HTTP status, raises OSError for anything but 2xx."""
    check_lan_url(url)
    data = json.dumps(body, ensure_ascii=False).encode()
    request = urllib.request.Request(
        url, data=data, method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "call-appliance",
                 **signing.headers(secret, data)},
    )
    # No proxy: a proxy from the environment would carry call text off the LAN.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=timeout) as response:
        return response.status


def _attempt(store, settings, delivery, webhook, body: dict, now: float) -> bool:
    status, error = None, None
    try:
        status = post(webhook.url, webhook.secret, body, settings.webhook_timeout_seconds)
    except urllib.error.HTTPError as exc:
        status, error = exc.code, f"HTTP {exc.code} {exc.reason}"
    except WebhookRefused as exc:
        error = str(exc)
    except (OSError, ValueError) as exc:  # refused, timed out, unreachable, bad URL
        error = f"{type(exc).__name__}: {getattr(exc, 'reason', None) or exc}"
    if error is None:
        store.record_delivery_attempt(delivery.id, "sent", status, None, now=now)
        log.info("webhook %d: %s for call %s delivered (HTTP %s)", webhook.id, delivery.event, delivery.call_id, status)
        return True
    attempts = delivery.attempts + 1
    final = attempts >= settings.webhook_max_attempts or delivery.event == "test"
    retry_at = now + settings.webhook_retry_seconds * 2 ** (attempts - 1)
    store.record_delivery_attempt(delivery.id, "failed" if final else "pending", status, error, retry_at, now=now)
    log.warning("webhook %d: %s for call %s failed (attempt %d)", webhook.id, delivery.event, delivery.call_id, attempts)
    return False


def deliver_due(store, settings, now: float | None = None) -> int:
    """Attempt every due delivery once; returns how many went through."""
    now = time.time() if now is None else now
    sent = 0
    for delivery in store.due_deliveries(now=now):
        webhook = store.webhook(delivery.webhook_id)
        try:
            call = store.call(delivery.call_id)
        except NotFound:
            continue  # deleted: its delivery rows went with it
        body = payload.build(call, store.transcript(call.id), store.insights([call.id]).get(call.id),
                             webhook.fields, f"{public_url(settings)}/calls/{call.id}")
        sent += _attempt(store, settings, delivery, webhook, body, now)
    return sent


def send_test(store, settings, webhook_id: int):
    """The admin's test button: one signed request now, its result in the delivery log."""
    now = time.time()
    webhook = store.webhook(webhook_id)
    delivery = store.delivery(store.add_test_delivery(webhook_id, now=now))
    _attempt(store, settings, delivery, webhook, payload.test_body(webhook.fields), now)
    return store.delivery(delivery.id)
