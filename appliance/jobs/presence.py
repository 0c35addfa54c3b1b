"""Who works for the box, busy or idle: every remote worker announces itself on the broker
every worker_heartbeat_seconds (its name, model, device and the job in hand, if any); the
box's dispatcher records what it hears, and the jobs page shows a worker offline once it has
not been heard for worker_offline_seconds (appliance/web/jobs.py).

Announcements are Celery events (the broker's `celeryev` exchange: transient, expired after
seconds, kept by no one when nobody listens), so they need no credential but the broker's
and no endpoint of their own. A worker cut off from the box still shows, idle: the admin sees
it is there and does no work. Like the rest of the table, they are only shown, never trusted.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Callable

from appliance.store import Store

if TYPE_CHECKING:
    from celery import Celery

log = logging.getLogger(__name__)

PRESENCE = "appliance-worker"
MAX_NAME_CHARS = 100
# The broker away (restarting): try again after this pause.
RECONNECT_PAUSE_SECONDS = 2.0
# One reconnection per announcement: the next one comes soon anyway.
_RETRY_ONCE = {"max_retries": 1, "interval_start": 0, "interval_step": 1, "interval_max": 1}


def announce(app: Celery, hostname: str, fields: Callable[[], dict], every: float) -> threading.Thread:
    """Send fields() every `every` seconds from a thread of its own, whatever the worker does."""

    def run() -> None:
        with app.connection_for_write() as connection:
            dispatcher = app.events.Dispatcher(connection, hostname=hostname, buffer_while_offline=False)
            while True:
                try:
                    dispatcher.send(PRESENCE, retry=True, retry_policy=_RETRY_ONCE, **fields())
                except Exception as exc:  # noqa: BLE001 - the broker away: the next one may arrive
                    log.debug("presence not sent (%s: %s)", type(exc).__name__, exc)
                time.sleep(every)

    thread = threading.Thread(target=run, daemon=True, name="presence")
    thread.start()
    return thread


def record(store: Store, event: dict) -> None:
    """One announcement into the workers' table; what is not one is dropped."""
    name, job = event.get("worker"), event.get("job")
    if not isinstance(name, str) or not name or not (job is None or type(job) is int):
        return
    model, device = (str(event.get(key) or "")[:MAX_NAME_CHARS] for key in ("model", "device"))
    store.workers.seen(name[:MAX_NAME_CHARS], model, device, job)


def listen(app: Celery, store: Store) -> threading.Thread:
    """Record the workers' announcements from a thread of its own, across broker restarts."""

    def on_presence(event: dict) -> None:
        try:
            record(store, event)
        except Exception:  # noqa: BLE001 - a busy database: the next announcement comes soon
            log.exception("a worker's announcement was not recorded")

    def run() -> None:
        while True:
            try:
                with app.connection_for_read() as connection:
                    receiver = app.events.Receiver(connection, handlers={PRESENCE: on_presence})
                    receiver.run(wakeup=False)  # reconnects by itself once connected
            except Exception as exc:  # noqa: BLE001 - no broker yet
                log.debug("not listening for workers yet (%s: %s)", type(exc).__name__, exc)
            time.sleep(RECONNECT_PAUSE_SECONDS)

    thread = threading.Thread(target=run, daemon=True, name="presence")
    thread.start()
    return thread
