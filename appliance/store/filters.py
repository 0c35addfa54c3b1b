"""The filters the call list and search share: a day range, a phone number, a state, a kind.

Each filter becomes a SQL condition on the call `c` (and its latest job `j`) with named
parameters, so callers append them to their own WHERE clause.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from appliance.store.schema import JOB_STATES

# What people write between the digits of a number: "+49 (30) 123-45 67", "030/1234567".
NUMBER_PUNCTUATION = " -()/."


def _bare(column: str) -> str:
    """SQL for `column` with NUMBER_PUNCTUATION removed."""
    for char in NUMBER_PUNCTUATION:
        column = f"replace({column}, '{char}', '')"
    return column


# The call's start as a UTC day: SQLite's date() turns "2024-05-01T23:30:00-02:00" into
# 2024-05-02. A started_at it cannot read falls back to when the appliance learnt of the call.
_START_DAY = "COALESCE(date(c.started_at), date(c.created_at, 'unixepoch'))"
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _day(value: str, name: str) -> str:
    # fromisoformat alone would also take "20240501" and "2024-W18-3".
    if _ISO_DAY.fullmatch(value):
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            pass
    raise ValueError(f"{name} must be a date written YYYY-MM-DD, got {value!r}")


@dataclass(frozen=True)
class CallFilter:
    date_from: str | None = None  # YYYY-MM-DD, inclusive, UTC
    date_to: str | None = None  # YYYY-MM-DD, inclusive, UTC
    number: str | None = None  # part of the caller's or callee's number, punctuation ignored
    state: str | None = None  # the latest job's state
    kind: str | None = None

    def where(self) -> tuple[list[str], dict]:
        """SQL conditions on `c` (calls) and `j` (the latest job), and their parameters."""
        conditions: list[str] = []
        params: dict = {}
        if self.date_from:
            conditions.append(f"{_START_DAY} >= :date_from")
            params["date_from"] = _day(self.date_from, "date_from")
        if self.date_to:
            conditions.append(f"{_START_DAY} <= :date_to")
            params["date_to"] = _day(self.date_to, "date_to")
        number = "".join(ch for ch in self.number or "" if ch not in NUMBER_PUNCTUATION)
        if number:
            conditions.append(
                f"(instr({_bare('c.caller')}, :number) > 0"
                f" OR instr({_bare('c.callee')}, :number) > 0)"
            )
            params["number"] = number
        if self.state:
            if self.state not in JOB_STATES:
                raise ValueError(
                    f"state must be one of {', '.join(JOB_STATES)}, got {self.state!r}"
                )
            conditions.append("j.state = :state")
            params["state"] = self.state
        if self.kind:
            conditions.append("c.kind = :kind")
            params["kind"] = self.kind
        return conditions, params


def where_clause(conditions: list[str]) -> str:
    return f" WHERE {' AND '.join(conditions)}" if conditions else ""
