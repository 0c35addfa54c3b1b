"""A small check of a vCon against what draft-ietf-vcon-vcon-core (syntax 0.4.0) says MUST be:
the members that must be there, their types, content given inline (body + encoding) or by
reference (url + content_hash with SHA-512), and indices that point at something. Returns the
problems found (none: it conforms as far as this check goes)."""

from __future__ import annotations

import base64
import re
import uuid
from datetime import datetime

DIALOG_TYPES = {"recording", "recording-set", "text", "transfer", "incomplete"}
ENCODINGS = {"base64url", "json", "none"}
_MEDIATYPE = re.compile(r"^[\w.+-]+/[\w.+-]+")
_CONTENT_HASH = re.compile(r"^[a-z0-9]+-[A-Za-z0-9_-]+$")
_RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


def _date(value) -> bool:
    if not isinstance(value, str) or not _RFC3339.match(value):
        return False
    datetime.fromisoformat(value.replace("Z", "+00:00"))
    return True


def _content(where: str, obj: dict, problems: list[str]) -> None:
    """Inline (body + encoding) or externally referenced (url + content_hash), per the draft."""
    if "body" in obj:
        if obj.get("encoding") not in ENCODINGS:
            problems.append(f"{where}: inline body needs encoding one of {sorted(ENCODINGS)}")
        elif obj["encoding"] == "base64url":
            try:
                base64.urlsafe_b64decode(obj["body"] + "=" * (-len(obj["body"]) % 4))
            except (ValueError, TypeError):
                problems.append(f"{where}: body is not base64url")
        elif obj["encoding"] == "none" and not isinstance(obj["body"], str):
            problems.append(f"{where}: encoding none needs a string body")
    elif "url" in obj:
        hashes = obj.get("content_hash")
        hashes = hashes if isinstance(hashes, list) else [hashes]
        if not all(isinstance(h, str) and _CONTENT_HASH.match(h) for h in hashes):
            problems.append(f"{where}: url needs content_hash as 'algorithm-base64url'")
        if not any(isinstance(h, str) and h.startswith("sha512-") for h in hashes):
            problems.append(f"{where}: SHA-512 must be among the content hashes")
    if "mediatype" in obj and not (isinstance(obj["mediatype"], str) and _MEDIATYPE.match(obj["mediatype"])):
        problems.append(f"{where}: mediatype is not type/subtype")


def _party_indices(value, count: int) -> bool:
    if value is None:
        return True  # a channel nobody is recorded on
    if isinstance(value, list):
        return all(_party_indices(v, count) for v in value)
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < count


def vcon_problems(vcon) -> list[str]:
    problems: list[str] = []
    if not isinstance(vcon, dict):
        return ["a vCon is a JSON object"]
    if "vcon" in vcon and vcon["vcon"] != "0.4.0":
        problems.append("vcon (syntax version) must be 0.4.0")
    try:
        uuid.UUID(vcon.get("uuid", ""))
    except (ValueError, AttributeError, TypeError):
        problems.append("uuid missing or not a UUID")
    if not _date(vcon.get("created_at")):
        problems.append("created_at missing or not an RFC 3339 date")
    for key in ("parties", "dialog", "analysis", "attachments", "extensions", "critical"):
        if key in vcon and not isinstance(vcon[key], list):
            problems.append(f"{key} must be an array")
    parties = vcon.get("parties", [])
    for i, party in enumerate(parties):
        if not isinstance(party, dict):
            problems.append(f"parties[{i}] must be an object")
            continue
        for key in ("tel", "sip", "mailto", "name", "uuid", "type"):
            if key in party and not isinstance(party[key], str):
                problems.append(f"parties[{i}].{key} must be a string")
    dialogs = vcon.get("dialog", [])
    for i, dialog in enumerate(dialogs):
        where = f"dialog[{i}]"
        if dialog.get("type") not in DIALOG_TYPES:
            problems.append(f"{where}.type must be one of {sorted(DIALOG_TYPES)}")
        if not _date(dialog.get("start")):
            problems.append(f"{where}.start missing or not an RFC 3339 date")
        if "duration" in dialog and not (isinstance(dialog["duration"], (int, float)) and dialog["duration"] >= 0):
            problems.append(f"{where}.duration must be a positive number")
        if "parties" not in dialog or not _party_indices(dialog["parties"], len(parties)):
            problems.append(f"{where}.parties missing or not indices into parties")
        # A recording or text SHOULD carry its content (not MUST: it may be redacted or erased).
        if dialog.get("type") in ("recording", "text"):
            if "body" in dialog and "mediatype" not in dialog:
                problems.append(f"{where}: inline dialog needs its mediatype")
        elif "body" in dialog or "url" in dialog:
            problems.append(f"{where}: a {dialog.get('type')} dialog has no content")
        _content(where, dialog, problems)
    for i, analysis in enumerate(vcon.get("analysis", [])):
        where = f"analysis[{i}]"
        for key in ("type", "vendor"):
            if not isinstance(analysis.get(key), str):
                problems.append(f"{where}.{key} missing or not a string")
        indices = analysis.get("dialog")
        indices = indices if isinstance(indices, list) else [indices] if indices is not None else []
        if not all(isinstance(d, int) and 0 <= d < len(dialogs) for d in indices):
            problems.append(f"{where}.dialog must index the dialog array")
        if not ("body" in analysis or "url" in analysis):
            problems.append(f"{where}: has neither body nor url")
        _content(where, analysis, problems)
    return problems
