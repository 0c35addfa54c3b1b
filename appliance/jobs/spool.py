"""The spool sweep: finished recordings dropped into the spool folder become jobs.

Asterisk's hook enqueues recordings directly; the sweep is the safety net (a crash, a hook
that failed, files copied in by hand). A file still being written is left alone: temporary
names are skipped, and so is anything modified within the settle time. A ticket
`<name>.json` beside a recording carries its call metadata (written atomically by the hook).
MixMonitor r()/t() pairs are named `<name>-rx.<ext>` and `<name>-tx.<ext>`.

Asterisk's dialplan records into `recording/` and its hook moves the file out, beside its
ticket, when the call ends; a file with a ticket is complete and is taken at once. A file
left in `recording/` (Asterisk died mid-call, the hook failed) is taken once it has not
changed for `spool_abandoned_seconds`: a half-written recording still holds the call.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import time
from datetime import datetime, timezone
from dataclasses import fields
from pathlib import Path

from appliance.asterisk.tickets import PAIR, base_name, ticket_path
from appliance.config import Settings
from appliance.jobs.intake import take_in
from appliance.store import EnqueueResult, Store
from appliance.transcript.model import CallMeta, valid_uniqueid

log = logging.getLogger(__name__)

AUDIO_SUFFIX = re.compile(
    r"^\.(wav|wav49|gsm|raw|sln\d*|slin\d*|ulaw|ul|alaw|al|g722|mp3|ogg|oga|opus|flac|m4a)$", re.I
)
# Unpaired r()/t() halves wait this many settle periods for their twin.
PAIR_PATIENCE = 6
_META_FIELDS = {f.name for f in fields(CallMeta)}


IN_PROGRESS = "recording"


def _is_candidate(path: Path) -> bool:
    return (
        path.is_file()
        and not path.name.startswith(".")
        and not any(part in (".tmp", "quarantine") for part in path.parts)
        and AUDIO_SUFFIX.match(path.suffix) is not None
    )


def _decoded(data: dict) -> dict:
    """Ticket values from Asterisk's hook: caller-controlled ones arrive BASE64-encoded."""
    values = {k: v for k, v in data.items() if not k.endswith("_b64")}
    for key, value in data.items():
        if key.endswith("_b64") and value:
            try:
                values[key[:-4]] = base64.b64decode(str(value), validate=True).decode("utf-8", "replace")
            except (binascii.Error, ValueError):
                log.warning("spool: a ticket field is not valid base64; ignored")
    epoch = values.pop("started_epoch", None)
    if epoch and str(epoch).isdigit() and not values.get("started_at"):
        values["started_at"] = datetime.fromtimestamp(int(epoch), timezone.utc).isoformat(timespec="seconds")
    return values


def read_ticket(recording: Path, base: str) -> tuple[CallMeta, dict]:
    """Call metadata and decode options from `<base>.json`, else the file name as uniqueid."""
    ticket = ticket_path(recording, base)
    data: dict = {}
    if ticket.is_file():
        try:
            data = _decoded(json.loads(ticket.read_text()))
        except (OSError, ValueError, AttributeError):
            log.warning("spool: unreadable ticket %s; using the file name only", ticket.name)
    meta = CallMeta(**{k: str(v) for k, v in data.items() if k in _META_FIELDS and v not in (None, "")})
    if not valid_uniqueid(meta.uniqueid):
        log.warning("spool: ticket %s has an invalid uniqueid; using the file name", ticket.name)
        meta = CallMeta(**{**meta.__dict__, "uniqueid": None})
    if not meta.uniqueid:
        meta = CallMeta(**{**meta.__dict__, "uniqueid": base})
    options = data.get("options") if isinstance(data.get("options"), dict) else {}
    return meta, options


def sweep(store: Store, settings: Settings, now: float | None = None) -> list[EnqueueResult]:
    now = time.time() if now is None else now
    spool = settings.spool_dir
    if not spool.is_dir():
        return []
    known = store.intake.known_paths()
    settle = settings.spool_settle_seconds
    fresh: dict[str, list[Path]] = {}
    halves: dict[tuple[Path, str], dict[str, Path]] = {}
    for path in sorted(spool.rglob("*")):
        if str(path.resolve()) in known or not _is_candidate(path):
            continue
        age = now - path.stat().st_mtime
        in_progress = path.parent.name == IN_PROGRESS
        if in_progress and age < settings.spool_abandoned_seconds:
            continue
        if age < settle and not ticket_path(path, path.stem).is_file():
            continue
        pair = PAIR.match(path.stem)
        if pair:
            halves.setdefault((path.parent, pair["base"]), {})[pair["dir"]] = path
        else:
            fresh[str(path)] = [path]
    for (parent, base), found in halves.items():
        if len(found) == 2:
            fresh[str(found["rx"])] = [found["rx"], found["tx"]]
        else:
            (half,) = found.values()
            if now - half.stat().st_mtime >= settle * PAIR_PATIENCE:
                fresh[str(half)] = [half]  # its twin never came: transcribe what exists
    results = []
    for paths in fresh.values():
        meta, options = read_ticket(paths[0], base_name(paths[0].stem))
        result = take_in(store, meta, paths, options)
        if result.created:
            log.info("spool: enqueued job %d (%d file(s))", result.job_id, len(paths))
        results.append(result)
    return results
