"""The filters the call list and search share: a day range (days of the user's time zone), a
phone number, a state, a kind, and the user's scope (appliance/store/scopes.py); the list's
own: a direction, an extension, a speaker's name, a duration range and words said in the call.

Each filter becomes a SQL condition on the call `c` alone, with named parameters, so callers
append them to their own WHERE clause without joining anything first. Each condition can use
an index: the day range calls_day, the number call_numbers and the digits columns (through a
set of call ids), the kind calls_kind, the state jobs_state where the state is rare.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from typing import TYPE_CHECKING

from appliance.errors import BadInput
from appliance.store import fts
from appliance.store.schema import JOB_STATES, NUMBER_PUNCTUATION, call_day, call_start

if TYPE_CHECKING:
    from appliance.store.scopes import Scope

_START_DAY = call_day("c.")
_START = call_start("c.")
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

# The calls whose caller or callee, without NUMBER_PUNCTUATION, contains :number. The distinct
# numbers are few (thousands, against a hundred thousand calls), and the digits columns are
# indexed, so this reads call_numbers once per party and the calls of the matching numbers.
_MATCHING_DIGITS = "SELECT digits FROM call_numbers WHERE instr(digits, :number) > 0"
NUMBER_CALLS = (
    f"SELECT id FROM calls WHERE caller_digits IN ({_MATCHING_DIGITS})"
    f" UNION ALL SELECT id FROM calls WHERE callee_digits IN ({_MATCHING_DIGITS})"
)

# The state of the call's latest job, two ways: per call (cheap when the list stops after a page
# of calls most of which qualify), or as the set of calls from the jobs in that state (cheap
# when few jobs are in it, and for counting).
_STATE_PER_CALL = (
    "(SELECT j.state FROM recordings r JOIN jobs j ON j.recording_id = r.id"
    " WHERE r.call_id = c.id ORDER BY j.id DESC LIMIT 1) = :state"
)
_STATE_SET = (
    "c.id IN (SELECT r.call_id FROM jobs j JOIN recordings r ON r.id = j.recording_id"
    " WHERE j.state = :state AND NOT EXISTS (SELECT 1 FROM recordings r2"
    " JOIN jobs j2 ON j2.recording_id = r2.id WHERE r2.call_id = r.call_id AND j2.id > j.id))"
)


# The calls whose newest transcripts hold a turn matching :words (an FTS5 query, parse_query's).
WORD_CALLS = (
    f"SELECT r.call_id FROM {fts.MAIN} f JOIN turns t ON t.id = f.rowid"
    " JOIN transcripts tr ON tr.id = t.transcript_id JOIN recordings r ON r.id = tr.recording_id"
    f" WHERE {fts.MAIN} MATCH :words"
)
# The calls with a speaker whose name holds :speaker, in any letter case.
_SPEAKER_CALLS = (
    "SELECT r.call_id FROM speakers s JOIN transcripts tr ON tr.id = s.transcript_id"
    " JOIN recordings r ON r.id = tr.recording_id WHERE instr(lower(s.label), lower(:speaker)) > 0"
)
DIRECTIONS = ("inbound", "outbound", "internal")


def _day(value: str, name: str) -> str:
    # fromisoformat alone would also take "20240501" and "2024-W18-3".
    if _ISO_DAY.fullmatch(value):
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            pass
    raise BadInput(f"{name} must be a date written YYYY-MM-DD, got {value!r}")


def day_start(day: str, zone: tzinfo | None) -> datetime:
    """The midnight that starts a local day, in UTC (None: a UTC day)."""
    return datetime.combine(date.fromisoformat(day), time(), zone or timezone.utc).astimezone(timezone.utc)


def number_digits(number: str | None) -> str:
    """The typed number as the filter compares it: "+49 (30) 123-45" -> "+493012345"."""
    return "".join(ch for ch in number or "" if ch not in NUMBER_PUNCTUATION)


def _whole_ms(local: str) -> str:
    # A start in whole milliseconds, rounded as SQLite's date functions round it: arithmetic on
    # it is a third cheaper over a year of calls than strftime or date(), and finds the same.
    return f"CAST({local} * 1000 + 0.5 AS INTEGER)"


def week_hour_sql(local: str) -> str:
    """The hour of the week (Monday 0:00-0:59 is 0, Sunday 23:00 is 167) of a local start; day 0
    (1970-01-01) was a Thursday."""
    ms = _whole_ms(local)
    return f"((({ms} / 86400000 + 3) % 7) * 24 + ({ms} % 86400000) / 3600000)"


def day_number_sql(local: str) -> str:
    """The day of a local start as days since 1970-01-01: date(n * 86400, 'unixepoch') writes it."""
    return f"({_whole_ms(local)} / 86400000)"


def _offsets(zone: tzinfo, since: datetime, until: datetime) -> list[tuple[float, int]]:
    """The zone's UTC offsets (seconds) over [since, until), each with the instant it starts:
    the first at `since`, then one per daylight-saving change, found to the second."""
    def offset(at: float) -> int:
        return int(datetime.fromtimestamp(at, timezone.utc).astimezone(zone).utcoffset().total_seconds())

    found = [(since.timestamp(), offset(since.timestamp()))]
    day, end = since.timestamp(), until.timestamp()
    while day < end:
        low, high = day, min(day + 86400, end)
        if offset(high) != found[-1][1]:
            while high - low > 1:  # the change lies in (low, high]
                middle = (low + high) // 2
                low, high = (middle, high) if offset(middle) == found[-1][1] else (low, middle)
            found.append((high, offset(high)))
        day = high
    return found


# A call with a phrase alert (store/alerts.py): the list's filter and the dashboard's count.
ALERTED = "EXISTS (SELECT 1 FROM phrase_hits h WHERE h.call_id = c.id)"


@dataclass(frozen=True)
class CallFilter:
    date_from: str | None = None  # YYYY-MM-DD, inclusive, a day of `zone`
    date_to: str | None = None  # YYYY-MM-DD, inclusive, a day of `zone`
    number: str | None = None  # part of the caller's or callee's number, punctuation ignored
    state: str | None = None  # the latest job's state
    kind: str | None = None
    scope: Scope | None = None  # None: every call (trusted callers only)
    direction: str | None = None  # one of DIRECTIONS
    extension: str | None = None  # the caller's or callee's whole number, punctuation ignored
    speaker: str | None = None  # part of a speaker's name
    min_duration: float | None = None  # seconds, inclusive
    max_duration: float | None = None
    words: str | None = None  # said in the call: an FTS5 query (query.parse_query makes one)
    alerted: bool | None = None  # True: only calls in which a watched phrase was said (store/alerts.py)
    unheard: bool | None = None  # True: only calls nobody has opened yet (store/heard.py): unanswered messages
    week_hour: int | None = None  # 0-167: weekday (Monday 0) × 24 + hour of the start, in `zone`
    zone: tzinfo | None = None  # whose days date_from and date_to are; None: UTC days
    ids: tuple[int, ...] | None = None  # these calls only (a selection on the list)

    def bounds(self) -> tuple[datetime | None, datetime | None]:
        """The day range as instants: the first day's midnight and the midnight after the last
        day, in UTC (None: no bound). A Berlin day is 23, 24 or 25 hours, so each is computed."""
        since = day_start(_day(self.date_from, "date_from"), self.zone) if self.date_from else None
        until = None
        if self.date_to:
            last = date.fromisoformat(_day(self.date_to, "date_to"))
            until = day_start((last + timedelta(days=1)).isoformat(), self.zone)
        return since, until

    def local_start(self) -> tuple[str, dict]:
        """SQL for the call's start as unix seconds on the clock of the filter's zone, and its
        parameters: the start shifted by the offset in force then (one CASE branch per
        daylight-saving change in the day range; UTC without a zone or a whole range)."""
        since, until = self.bounds()
        if self.zone is None or since is None or until is None:
            return _START, {}
        offsets = _offsets(self.zone, since, until)
        params = {f"offset_{n}": offset for n, (_, offset) in enumerate(offsets)}
        params.update({f"change_{n}": at for n, (at, _) in enumerate(offsets) if n})
        branches = "".join(f" WHEN {_START} < :change_{n} THEN :offset_{n - 1}" for n in range(1, len(offsets)))
        shift = f"(CASE{branches} ELSE :offset_{len(offsets) - 1} END)" if branches else ":offset_0"
        return f"({_START} + {shift})", params

    def where(self, *, state_per_call: bool = False) -> tuple[list[str], dict]:
        """SQL conditions on `c` (calls) and their parameters.

        `state_per_call` picks how the state is tested (see _STATE_PER_CALL): a list of the
        newest calls in a common state stops sooner that way.
        """
        conditions: list[str] = []
        params: dict = {}
        # A bound at a UTC midnight as a UTC day (the calls_day index), any other as the instant
        # itself (the calls_start index).
        since, until = self.bounds()
        if since and since.time() == time():
            conditions.append(f"{_START_DAY} >= :date_from")
            params["date_from"] = since.date().isoformat()
        elif since:
            conditions.append(f"{_START} >= :since")
            params["since"] = since.timestamp()
        if until and until.time() == time():
            conditions.append(f"{_START_DAY} <= :date_to")
            params["date_to"] = (until - timedelta(days=1)).date().isoformat()
        elif until:
            conditions.append(f"{_START} < :until")
            params["until"] = until.timestamp()
        number = number_digits(self.number)
        if number:
            conditions.append(f"c.id IN ({NUMBER_CALLS})")
            params["number"] = number
        if self.state:
            if self.state not in JOB_STATES:
                raise BadInput(
                    f"state must be one of {', '.join(JOB_STATES)}, got {self.state!r}"
                )
            conditions.append(_STATE_PER_CALL if state_per_call else _STATE_SET)
            params["state"] = self.state
        if self.kind:
            conditions.append("c.kind = :kind")
            params["kind"] = self.kind
        if self.direction:
            if self.direction not in DIRECTIONS:
                raise BadInput(f"direction must be one of {', '.join(DIRECTIONS)}, got {self.direction!r}")
            conditions.append("c.direction = :direction")
            params["direction"] = self.direction
        extension = number_digits(self.extension)
        if extension:
            conditions.append("(c.caller_digits = :extension OR c.callee_digits = :extension)")
            params["extension"] = extension
        if self.speaker:
            conditions.append(f"c.id IN ({_SPEAKER_CALLS})")
            params["speaker"] = self.speaker
        for name, operator in (("min_duration", ">="), ("max_duration", "<=")):
            if getattr(self, name) is not None:
                conditions.append(f"c.duration {operator} :{name}")
                params[name] = float(getattr(self, name))
        if self.ids is not None:
            conditions.append("c.id IN (SELECT value FROM json_each(:ids))")
            params["ids"] = json.dumps([int(call_id) for call_id in self.ids])
        if self.words:
            conditions.append(f"c.id IN ({WORD_CALLS})")
            params["words"] = self.words
        if self.alerted:
            conditions.append(ALERTED)
        if self.unheard:
            conditions.append("NOT EXISTS (SELECT 1 FROM heard x WHERE x.call_id = c.id)")
        if self.week_hour is not None:
            if not 0 <= self.week_hour < 7 * 24:
                raise BadInput(f"an hour of the week is 0 to 167, got {self.week_hour}")
            local, local_params = self.local_start()
            conditions.append(f"{week_hour_sql(local)} = :week_hour")
            params.update(local_params, week_hour=self.week_hour)
        if self.scope is not None:
            scoped, scope_params = self.scope.where("c")
            conditions += scoped
            params.update(scope_params)
        return conditions, params

    def dates(self) -> CallFilter:
        """The day range alone (search applies the scope itself)."""
        return CallFilter(self.date_from, self.date_to, zone=self.zone)


def where_clause(conditions: list[str]) -> str:
    return f" WHERE {' AND '.join(conditions)}" if conditions else ""
