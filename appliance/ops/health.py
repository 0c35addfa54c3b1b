"""Is the box well? Services, the queue, free disk; and the disk guard.

`/healthz` shows `health()` to anyone on the LAN (a monitoring system), so it carries no
data: states, counts, ages and bytes only. When free space where the data lives falls under
`disk_min_free_mb`, the worker takes no new job (a transcript half-written into a full disk
would fail mid-transaction and retry forever), copies no voicemail, and the admin is told: a
banner in the UI and, once a day while it lasts, a mail to `admin_email`.
"""

from __future__ import annotations

import logging
import smtplib
import socket
import time
from dataclasses import asdict, dataclass
from email.message import EmailMessage

from appliance.config import Settings
from appliance.disk import Disk, disk

log = logging.getLogger(__name__)

WORKER_ALIVE = "worker-alive"
DISK_MAIL = "disk-low-mail"
DISK_MAIL_EVERY = 24 * 3600.0


def worker_interval(settings: Settings) -> float:
    return max(1.0, settings.sweep_interval_seconds)


def mark_worker_alive(store) -> None:
    store.ops.set_state(WORKER_ALIVE, True)


def _asterisk_up(settings: Settings) -> bool:
    try:
        socket.create_connection(("127.0.0.1", settings.asterisk_ami_port), timeout=0.5).close()
        return True
    except OSError:
        return False


@dataclass(frozen=True)
class Health:
    ok: bool
    services: dict[str, bool]  # database, worker, asterisk
    queue_depth: int  # jobs queued or running
    oldest_queued_seconds: float | None
    disk_free_bytes: int
    disk_min_free_bytes: int
    disk_low: bool

    def as_dict(self) -> dict:
        return asdict(self)


def health(settings: Settings, store, now: float | None = None) -> Health:
    now = time.time() if now is None else now
    space = disk(settings)
    try:
        stats = store.jobs.queue_stats()
        oldest = store.ops.oldest_queued()
        beat = store.ops.state(WORKER_ALIVE)
        database = True
    except Exception:  # noqa: BLE001 - a broken database is exactly what health must report
        log.exception("health: the database cannot be read")
        stats, oldest, beat, database = {}, None, None, False
    worker = beat is not None and now - beat[1] <= 3 * worker_interval(settings) + 5
    services = {"database": database, "worker": worker, "asterisk": _asterisk_up(settings)}
    return Health(
        ok=all(services.values()) and not space.low,
        services=services,
        queue_depth=stats.get("queued", 0) + stats.get("running", 0),
        oldest_queued_seconds=None if oldest is None else round(max(0.0, now - oldest), 1),
        disk_free_bytes=space.free_bytes,
        disk_min_free_bytes=space.min_free_bytes,
        disk_low=space.low,
    )


def _disk_mail(settings: Settings, space: Disk) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = settings.admin_email
    message["Subject"] = "Call appliance: disk almost full / Festplatte fast voll"
    free, need = space.free_bytes // 2**20, space.min_free_bytes // 2**20
    message.set_content(
        f"Only {free} MB are free where the call appliance keeps its data (it needs {need} MB).\n"
        "New recordings wait in the spool and are not transcribed until space is freed.\n\n"
        f"Nur noch {free} MB frei, wo das Gesprächsarchiv seine Daten ablegt (benötigt: {need} MB).\n"
        "Neue Aufnahmen warten im Spool und werden erst nach dem Freigeben von Platz abgeschrieben.\n"
    )
    return message


def check_disk(store, settings: Settings, now: float | None = None) -> Disk:
    """The scheduler's disk guard: mail the admin when space runs low (again each day while it
    lasts); forget the warning once space is back."""
    from appliance.mail.relay import send

    now = time.time() if now is None else now
    space = disk(settings)
    if not space.low:
        if store.ops.state(DISK_MAIL):
            store.ops.clear_state(DISK_MAIL)
            store.audit.add(None, "disk-ok")
        return space
    sent = store.ops.state(DISK_MAIL)
    if sent and now - sent[1] < DISK_MAIL_EVERY:
        return space
    log.warning("disk low: %d MB free; intake paused", space.free_bytes // 2**20)
    if settings.admin_email:
        try:
            send(settings, _disk_mail(settings, space))
        except (OSError, smtplib.SMTPException) as exc:
            log.warning("disk warning mail not sent: %s", type(exc).__name__)
            return space  # tried again on the next run
    store.ops.set_state(DISK_MAIL, {"free_bytes": space.free_bytes, "mailed": bool(settings.admin_email)}, now=now)
    store.audit.add(None, "disk-low", None, f"{space.free_bytes // 2**20} MB free")
    return space
