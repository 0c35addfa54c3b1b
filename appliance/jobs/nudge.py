"""Event-driven intake: a recording the hook hands over is queued, and the mail about a finished
job sent, at once rather than at the next periodic sweep.

The hook's last step for a call is a rename of its recording beside the ticket, for a voicemail
the `.voicemail-changed` nudge: inotify on the spool folder (libc through ctypes; no package)
sees both. The worker, once a job is done, writes a byte to a pipe. One thread waits on the two;
the scheduler's sweep, scan and mail jobs stay as the safety net (no inotify, a missed event, a
relay that was down). A sweep run here and one by the scheduler at the same moment are safe: a
file already queued is known to the store and not queued again.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import select
import struct
import threading

from appliance.config import Settings
from appliance.jobs.spool import AUDIO_SUFFIX, sweep
from appliance.jobs.voicemail import scan_mailboxes
from appliance.mail.voicemail import deliver_pending
from appliance.store import Store

log = logging.getLogger(__name__)

IN_CLOSE_WRITE, IN_MOVED_TO, IN_CREATE = 0x008, 0x080, 0x100
_EVENT = struct.Struct("iIII")  # struct inotify_event: wd, mask, cookie, len; then the name
VOICEMAIL_NUDGE = ".voicemail-changed"


def _inotify(folder) -> int | None:
    """A non-blocking inotify descriptor watching `folder` for new files, or None."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
    except (OSError, AttributeError):
        return None
    if fd < 0:
        return None
    if libc.inotify_add_watch(fd, os.fsencode(folder), IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE) < 0:
        os.close(fd)
        return None
    return fd


def event_names(buffer: bytes) -> list[str]:
    names, offset = [], 0
    while offset + _EVENT.size <= len(buffer):
        _, _, _, length = _EVENT.unpack_from(buffer, offset)
        offset += _EVENT.size
        names.append(buffer[offset: offset + length].rstrip(b"\0").decode(errors="replace"))
        offset += length
    return names


class Nudges(threading.Thread):
    """Sweeps the spool when a recording arrives, scans the mailboxes when Asterisk says one
    changed, sends due mail when the worker finished a job; `jobs_queued` is set for the worker."""

    def __init__(self, settings: Settings, jobs_queued: threading.Event) -> None:
        super().__init__(daemon=True, name="intake-nudges")
        self.settings, self.jobs_queued = settings, jobs_queued
        self._wake_r, self._wake_w = os.pipe()
        self._stopping = False
        self.watching = False

    def mail_now(self) -> None:
        os.write(self._wake_w, b"m")

    def stop(self) -> None:
        self._stopping = True
        os.write(self._wake_w, b"s")
        self.join()

    def run(self) -> None:
        spool = _inotify(self.settings.spool_dir)
        self.watching = spool is not None
        if spool is None:
            log.warning("intake: no inotify on %s; new recordings wait for the periodic sweep",
                        self.settings.spool_dir)
        sources = [self._wake_r] + ([spool] if spool is not None else [])
        store = Store.open(self.settings)
        try:
            while not self._stopping:
                ready, _, _ = select.select(sources, [], [])
                if spool in ready:
                    self._arrived(store, event_names(os.read(spool, 65536)))
                if self._wake_r in ready and b"m" in os.read(self._wake_r, 4096):
                    self._mail(store)
        finally:
            store.close()
            for fd in sources:
                os.close(fd)
            os.close(self._wake_w)

    def _arrived(self, store: Store, names: list[str]) -> None:
        found = []
        try:
            if any(not n.startswith(".") and AUDIO_SUFFIX.match(os.path.splitext(n)[1]) for n in names):
                found += sweep(store, self.settings)
            if VOICEMAIL_NUDGE in names:
                # The hook runs once app_voicemail has moved the message into its folder.
                found += scan_mailboxes(store, self.settings, settled=True)
        except Exception:  # noqa: BLE001 - the periodic sweep retries; this thread must live on
            log.exception("intake: sweep on a new file failed; the periodic sweep will retry")
        if any(result.created for result in found):
            self.jobs_queued.set()

    def _mail(self, store: Store) -> None:
        try:
            deliver_pending(store, self.settings)
        except Exception:  # noqa: BLE001 - the periodic mail job retries
            log.exception("mail: sending after a job failed; the periodic mail job will retry")
