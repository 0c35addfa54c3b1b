"""Erasure on request: every call, voicemail and voice note involving a phone number or a word,
shown first, then deleted together with one confirmed action.

Deleting goes through the store's call deletion, so every table derived from a call goes with
it; then the files (recordings, spool tickets, the playback copy, and a voicemail's original in
Asterisk's mailbox), the number from the list of numbers seen, and finally `compact()`: merged
full-text indexes, a rebuilt database file and an emptied WAL, so the bytes are gone from disk
and not just unlinked from the tables. Calls under legal hold are shown and kept.

The audit log records that an erasure happened and which call ids went: never the number or
the words asked for.
"""

from __future__ import annotations

import glob
import logging
from dataclasses import dataclass, field
from pathlib import Path

from appliance.asterisk.voicemail import read_message
from appliance.config import Settings
from appliance.errors import ApplianceError, LegalHold, NotFound
from appliance.ops.files import call_files, remove
from appliance.store.records import CallSummary
from appliance.store.query import query_words

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Found:
    calls: tuple[CallSummary, ...]  # newest first
    numbers: tuple[str, ...]  # the stored notations of the number asked for
    held: tuple[int, ...]  # ids of the calls under legal hold: shown, never erased
    words: tuple[str, ...] = ()  # the words asked for, as search splits them


@dataclass
class Erased:
    deleted: list[int] = field(default_factory=list)
    held: list[int] = field(default_factory=list)
    files_left: list[str] = field(default_factory=list)
    file_compacted: bool = False  # the database file was rebuilt and its WAL emptied


def find(store, number: str | None = None, words: str | None = None) -> Found:
    """Calls involving the number (any usual notation) or whose transcript has the words."""
    number, words = (number or "").strip(), (words or "").strip()
    if not number and not words:
        raise ApplianceError("Give a phone number or a word to look for.")
    numbers = store.ops.matching_numbers(number) if number else []
    ids = store.ops.calls_with_numbers(numbers) | (store.ops.calls_with_words(words) if words else set())
    calls = tuple(sorted((store.calls.get(i) for i in ids), key=lambda c: c.id, reverse=True))
    held = tuple(c.id for c in calls if store.retention.legal_hold(c.id))
    return Found(calls, tuple(numbers), held, tuple(query_words(words)))


def erase(store, settings: Settings, found: Found, actor: str | None, only: set[int] | None = None) -> Erased:
    """Delete what `find` found (limited to `only`, the ids the admin confirmed)."""
    result = Erased()
    for call in found.calls:
        if only is not None and call.id not in only:
            continue
        try:
            with store.audit.entry(actor, "erase", f"call {call.id}", "erasure request"):
                paths = store.calls.delete(call.id)
        except LegalHold:
            result.held.append(call.id)
            continue
        except NotFound:
            continue
        files = call_files(settings, call.id, paths) + _voicemail_original(settings, call)
        result.files_left += [str(p) for p in remove(files)]
        result.deleted.append(call.id)
    store.ops.forget_numbers(list(found.numbers))
    erased = [c.uniqueid for c in found.calls if c.id in result.deleted and c.uniqueid]
    store.ops.forget_live_drafts(list(found.numbers), erased, list(found.words))
    result.file_compacted = store.ops.compact()
    store.audit.add(actor, "erasure", None, f"{len(result.deleted)} call(s) erased, {len(result.held)} on legal hold")
    log.info("erasure: %d call(s) deleted, %d held, %d file(s) left", len(result.deleted),
             len(result.held), len(result.files_left))
    return result


def _voicemail_original(settings: Settings, call: CallSummary) -> list[Path]:
    """The message files in Asterisk's mailbox the voicemail was copied from."""
    if call.kind != "voicemail" or not (call.uniqueid or "").startswith("vm-"):
        return []
    msg_id = call.uniqueid[3:]
    box = settings.voicemail_dir
    for info in box.glob(f"*/{glob.escape(call.callee)}/*/msg*.txt") if box.is_dir() and call.callee else ():
        message = read_message(info)
        if message and message.msg_id == msg_id:
            return sorted(info.parent.glob(f"{info.stem}.*"))
    return []
