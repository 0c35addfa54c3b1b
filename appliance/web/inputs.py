"""Hostile input at the edge of the web app: ids in paths, numbers in query strings and forms.

Werkzeug's `int` converter and `int()` accept any Unicode digit ("١" is 1) and any size (a
20-digit id overflows SQLite's integers): both are replaced by ASCII-only, bounded parsers.
"""

from __future__ import annotations

import re

from flask import request
from werkzeug.routing import BaseConverter

# Far below SQLite's 2**63 even when multiplied by a page size; far above any real id.
MAX_INT = 10**12
_DIGITS = re.compile(r"[0-9]{1,12}")


class AsciiIntConverter(BaseConverter):
    """`<int:...>` for the whole app: 1 to 12 ASCII digits, anything else is a 404."""

    regex = r"[0-9]{1,12}"
    part_isolating = True

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value) -> str:
        return str(int(value))


def bounded_int(value: str | None, default: int | None = None) -> int | None:
    """`value` as an int if it is 1 to 12 ASCII digits, else `default`."""
    value = (value or "").strip()
    return int(value) if _DIGITS.fullmatch(value) else default


def page_number() -> int:
    """The `page` query argument: 1 unless it is a sane positive number."""
    return max(1, bounded_int(request.args.get("page"), 1))


def form_int(name: str) -> int | None:
    return bounded_int(request.form.get(name))
