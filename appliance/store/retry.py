"""When the store's durable tasks (jobs, mail to mailbox owners, webhook deliveries) are tried
again after a failure: the wait doubles with each failed attempt, so a service that is down
is not hammered and one that comes back is reached soon."""

from __future__ import annotations


def retry_at(now: float, base_seconds: float, attempts: int) -> float:
    """`attempts`: the failed attempts so far, this one included (the first waits `base_seconds`)."""
    return now + base_seconds * 2 ** (attempts - 1)
