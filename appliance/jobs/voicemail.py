"""Voicemail in: new messages in Asterisk's mailboxes become voicemail jobs.

The message is copied into the appliance's own folder before it is queued: the owner may delete
or move it from the phone at any time, and the transcript must still have its recording. A
mailbox whose transcription is switched off is left alone.
"""

from __future__ import annotations

import logging
import time

from appliance.asterisk.voicemail import FOLDERS, read_message
from appliance.config import Settings
from appliance.disk import intake_paused
from appliance.jobs.intake import take_in
from appliance.store import EnqueueResult, Store
from appliance.transcript.model import CallMeta

log = logging.getLogger(__name__)


def scan_mailboxes(store: Store, settings: Settings, now: float | None = None,
                   settled: bool = False) -> list[EnqueueResult]:
    """`settled`: Asterisk's own word that its messages are complete (its externnotify runs once
    a message is in its folder), so none waits for the settle time."""
    now = time.time() if now is None else now
    settle = 0.0 if settled else settings.spool_settle_seconds
    root = settings.voicemail_dir
    if not root.is_dir() or intake_paused(settings):  # a full disk: messages wait in Asterisk's boxes
        return []
    (settings.spool_dir / ".voicemail-changed").unlink(missing_ok=True)  # the hook's nudge, now served
    known = store.intake.known_paths()
    target_dir = settings.data_dir / "recordings" / "voicemail"
    results = []
    for info in sorted(root.glob("*/*/*/msg*.txt")):
        if info.parent.name not in FOLDERS:
            continue
        message = read_message(info)
        if message is None or not message.audio.is_file():
            continue
        copy = target_dir / f"{message.msg_id}.wav"
        if str(copy.resolve()) in known or now - message.audio.stat().st_mtime < settle:
            continue
        if not settings.mailbox(message.mailbox).transcribe:
            continue
        meta = CallMeta(uniqueid=f"vm-{message.msg_id}", caller=message.caller, callee=message.mailbox,
                        direction="inbound", started_at=message.started_at, kind="voicemail")
        # No language: the box's is its owner's, for the mail; the message is in the caller's,
        # which the pipeline chooses as for any call (number rules, opt-in detection, the site's).
        result = take_in(store, meta, [message.audio], copies=[copy])
        if result.created:
            log.info("voicemail: queued job %d", result.job_id)
        results.append(result)
    return results
