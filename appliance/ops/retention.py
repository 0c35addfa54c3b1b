"""Retention: how long audio and text are kept, per direction, number pattern and mailbox.

Policies come from the settings file (`[retention.NAME]`, in file order) and then from the admin
UI (in the order they were made); the first policy that matches a call decides, and a call no
policy matches is kept. A matching policy removes the audio `audio_days` after the call
(the transcript stays) and the whole call `transcript_days` after it. A call under legal hold is
never touched. Every deletion is in the audit log, by call id only.

Run by APScheduler beside the worker (`retention_interval_seconds`) or `appliance retention run`.
"""

from __future__ import annotations

import fnmatch
import logging
import time
from dataclasses import dataclass

from appliance.config import Settings
from appliance.errors import ConfigError, LegalHold, NotFound
from appliance.ops.files import call_files, remove
from appliance.store.retention import AgedCall, RetentionPolicy

log = logging.getLogger(__name__)

DAY = 86400.0
DIRECTIONS = ("inbound", "outbound", "internal")
LAST_RUN = "retention-last-run"
_KEYS = {"direction", "number", "mailbox", "audio_days", "transcript_days"}


def _days(name: str, key: str, value) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"retention policy {name!r}: {key} must be a whole number of days, got {value!r}")
    return value


def policy_from_settings(name: str, table) -> RetentionPolicy:
    if not hasattr(table, "get"):
        raise ConfigError(f"retention policy {name!r} must be a table ([retention.{name}])")
    unknown = set(table) - _KEYS
    if unknown:
        raise ConfigError(f"retention policy {name!r}: unknown key(s) {', '.join(sorted(unknown))}")
    direction = table.get("direction")
    if direction is not None and direction not in DIRECTIONS:
        raise ConfigError(f"retention policy {name!r}: direction must be one of {', '.join(DIRECTIONS)}")
    return RetentionPolicy(
        name=name, direction=direction, number_pattern=table.get("number"), mailbox=table.get("mailbox"),
        audio_days=_days(name, "audio_days", table.get("audio_days")),
        transcript_days=_days(name, "transcript_days", table.get("transcript_days")),
    )


def all_policies(settings: Settings, store) -> list[RetentionPolicy]:
    """The settings file's policies first, then the admin UI's; the first match decides."""
    return [policy_from_settings(n, t) for n, t in settings.retention.items()] + store.retention.policies()


def matches(policy: RetentionPolicy, call: AgedCall) -> bool:
    if policy.direction and call.direction != policy.direction:
        return False
    if policy.number_pattern and not any(
        number and fnmatch.fnmatchcase(number, policy.number_pattern) for number in (call.caller, call.callee)
    ):
        return False
    if policy.mailbox:
        # A voicemail belongs to the mailbox it was left in, a voice note to the extension
        # that dictated it (as mail delivery sees them).
        owner = {"voicemail": call.callee, "note": call.caller}.get(call.kind)
        if owner is None or not fnmatch.fnmatchcase(owner, policy.mailbox):
            return False
    return True


def policy_for(policies: list[RetentionPolicy], call: AgedCall) -> RetentionPolicy | None:
    return next((p for p in policies if matches(p, call)), None)


@dataclass
class RetentionRun:
    audio_removed: int = 0  # calls whose audio went, transcript kept
    calls_deleted: int = 0
    files_left: int = 0  # files that could not be removed (rows are gone)


def run_retention(store, settings: Settings, now: float | None = None) -> RetentionRun:
    now = time.time() if now is None else now
    policies = all_policies(settings, store)
    run = RetentionRun()
    ages = [days for p in policies for days in (p.audio_days, p.transcript_days) if days is not None]
    if ages:
        after = 0
        # Only calls older than the shortest period can be due; read them a page at a time.
        while page := store.retention.aged_calls(now - min(ages) * DAY, after_id=after):
            for call in page:
                _apply(store, settings, policy_for(policies, call), call, now, run)
            after = page[-1].id
    store.ops.set_state(LAST_RUN, {**run.__dict__, "policies": len(policies)}, now=now)
    log.info("retention: audio of %d call(s) removed, %d call(s) deleted", run.audio_removed, run.calls_deleted)
    return run


def _apply(store, settings: Settings, policy, call: AgedCall, now: float, run: RetentionRun) -> None:
    if policy is None:
        return
    age = now - call.started
    if policy.transcript_days is not None and age >= policy.transcript_days * DAY:
        try:
            with store.audit.entry(None, "retention-delete", f"call {call.id}",
                               f"policy {policy.name}: older than {policy.transcript_days} days", now=now):
                paths = store.calls.delete(call.id)
        except (NotFound, LegalHold):
            return  # deleted, or put on hold, since it was read
        run.calls_deleted += 1
    elif call.has_audio and policy.audio_days is not None and age >= policy.audio_days * DAY:
        paths = store.retention.delete_audio(call.id, None, f"policy {policy.name}: audio older than {policy.audio_days} days", now=now)
        if not paths:
            return
        run.audio_removed += 1
    else:
        return
    run.files_left += len(remove(call_files(settings, call.id, paths)))
