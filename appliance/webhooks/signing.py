"""Webhook signatures: HMAC-SHA256 over "<timestamp>.<body>" with the webhook's secret.

The receiver recomputes it and rejects a stale timestamp, so a captured request can neither
be altered nor replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
import time

TIMESTAMP_HEADER = "X-Appliance-Timestamp"
SIGNATURE_HEADER = "X-Appliance-Signature"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def headers(secret: str, body: bytes, now: float | None = None) -> dict[str, str]:
    timestamp = int(time.time() if now is None else now)
    return {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: signature(secret, timestamp, body)}


def verify(secret: str, timestamp: str, received: str, body: bytes, *, max_age: float = 300,
           now: float | None = None) -> bool:
    """What a receiver does (and the tests do): constant-time compare, fresh timestamp only."""
    try:
        stamp = int(timestamp)
    except (TypeError, ValueError):
        return False
    now = time.time() if now is None else now
    return abs(now - stamp) <= max_age and hmac.compare_digest(signature(secret, stamp, body), received or "")
