"""What a name-source webhook may answer: names for the address book, read as hostile input.

A webhook the admin marked as a name source is the LAN CRM: it answers the POST about a call
(`call.done`, also `phrase.alert`) with `Content-Type: application/json` and any of

    {"caller_name": "Praxis Dr. Weber"}                             the call's caller
    {"callee_name": "Reception"}                                    the call's callee
    {"contacts": [{"number": "+49 30 123456", "name": "..."}, ...]}  any numbers

A null name, an empty body or HTTP 204 name nobody. Anything else names nobody either and says
why (BadAnswer): over MAX_BYTES, not JSON, not such an object, more than MAX_CONTACTS entries,
or one number or name the address book refuses (all or nothing, as a CSV upload is). The
delivery counts as sent all the same: the CRM got the call.
"""

from __future__ import annotations

import json

from appliance.errors import ApplianceError, BadInput
from appliance.store.contacts import MAX_NAME, MAX_NUMBER, clean

MAX_BYTES = 64 * 1024
MAX_CONTACTS = 500
_PARTIES = ("caller_name", "callee_name")


class BadAnswer(ApplianceError):
    """An answer that cannot name anybody; the message says what the CRM must change."""

    permanent = True


def _json(body: bytes, content_type: str | None):
    if len(body) > MAX_BYTES:
        raise BadAnswer(f"the answer is over {MAX_BYTES // 1024} KiB", "answer-size", most=MAX_BYTES // 1024)
    media = (content_type or "").split(";")[0].strip().lower()[:60] or "-"  # shown on the log: capped
    if media != "application/json" and not media.endswith("+json"):
        raise BadAnswer(f"the answer is not JSON (Content-Type {media})", "answer-type", type=media)
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):  # RecursionError: nested too deep
        raise BadAnswer("the answer is not valid JSON in UTF-8", "answer-json") from None


def _entries(data, caller: str | None, callee: str | None) -> list:
    """(where, number, name) as the answer gives them, each still to be checked; `where` says
    which part of the answer it is ("caller_name", "contacts[2]")."""
    shape = BadAnswer('the answer is not an object with "caller_name", "callee_name" or "contacts"', "answer-shape")
    if not isinstance(data, dict) or not any(key in data for key in (*_PARTIES, "contacts")):
        raise shape
    entries = [(key, number, data[key]) for key, number in zip(_PARTIES, (caller, callee))
               if data.get(key) is not None and number]
    contacts = data.get("contacts") or []
    if not isinstance(contacts, list) or not all(isinstance(item, dict) for item in contacts):
        raise shape
    if len(contacts) > MAX_CONTACTS:
        raise BadAnswer(f"the answer names more than {MAX_CONTACTS} numbers", "answer-count", most=MAX_CONTACTS)
    return entries + [(f"contacts[{i}]", item.get("number"), item.get("name")) for i, item in enumerate(contacts)]


def names(body: bytes, content_type: str | None, caller: str | None, callee: str | None) -> list[tuple[str, str]]:
    """The (number, name) pairs the answer gives, each one the address book accepts; [] for an
    empty answer; BadAnswer for anything else. `caller`, `callee`: the call's numbers."""
    if not body.strip():
        return []
    entries = _entries(_json(body, content_type), caller, callee)
    for where, number, name in entries:
        try:
            if not (isinstance(number, str) and isinstance(name, str)):
                raise BadInput("a number and a name are JSON strings")
            clean(number, name)
        except BadInput:
            raise BadAnswer(f"{where}: a number is a string of digits, + * # (at most {MAX_NUMBER} characters), a "
                            f"name one of 1 to {MAX_NAME} printable characters", "answer-entry", where=where,
                            number=MAX_NUMBER, name=MAX_NAME) from None
    return [(number, name) for _where, number, name in entries]
