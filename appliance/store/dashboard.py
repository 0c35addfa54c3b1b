"""The supervisors' dashboard: figures per day and per extension over the calls a filter selects.

The same CallFilter as the call list, so the calls behind a day's bar are exactly the ones the
list shows for that day. The dead air, talk and interruptions come from the stored conversation
metrics, the columns schema.METRIC_COLUMNS keeps of them (no JSON is read here), for the calls
that have them; the scores from the calls' reviews.

A call's extension is the appliance's own side of it: the callee of an inbound call, the caller
of an outbound one, else the shorter number (an extension is shorter than an outside line's);
on the stereo recording that side is speaker 0 (caller) or 1 (callee).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo

from appliance.store.concern import Concern
from appliance.store.filters import ALERTED, CallFilter, day_number_sql, week_hour_sql, where_clause
from appliance.store.schema import call_day, call_start


@dataclass(frozen=True)
class DayFigures:
    day: str  # YYYY-MM-DD, as the call list's day filter reads it
    calls: int
    seconds: float  # total duration of the transcribed ones
    measured: int  # calls with conversation metrics
    silence_seconds: float  # dead air, over the measured calls
    interruptions: int  # over the measured calls
    alerted: int  # calls with a phrase alert (store/alerts.py)


@dataclass(frozen=True)
class ExtensionFigures:
    extension: str
    calls: int
    seconds: float
    measured: int
    silence_seconds: float
    talk_seconds: float  # the extension's side, over the measured calls
    all_talk_seconds: float  # both sides
    interruptions: int  # by the extension's side
    reviews: int = 0  # scored reviews of its calls (appliance/store/reviews.py)
    score_total: float = 0.0

    @property
    def talk_share(self) -> float | None:
        return self.talk_seconds / self.all_talk_seconds if self.all_talk_seconds else None

    @property
    def score(self) -> float | None:
        """The mean score of its calls' reviews, 0-100."""
        return self.score_total / self.reviews if self.reviews else None


_SIDE = ("(CASE WHEN c.direction = 'outbound' THEN 0 WHEN c.direction = 'inbound' THEN 1"
         " WHEN length(c.caller_digits) < length(c.callee_digits) THEN 0 ELSE 1 END)")
_EXTENSION = f"(CASE {_SIDE} WHEN 0 THEN c.caller_digits ELSE c.callee_digits END)"


class Dashboard(Concern):
    def extensions(self, *, date_from: str | None = None, date_to: str | None = None, number: str | None = None,
                   kind: str | None = None, zone: tzinfo | None = None, limit: int = 50) -> list[ExtensionFigures]:
        """Figures per extension (the appliance's side of each call) of the calls the call list
        would show for these filters, the extensions with the most calls first."""
        where = CallFilter(date_from, date_to, number, None, kind, self.scope, zone=zone)
        conditions, params = where.where()
        sql = (
            f"SELECT {_EXTENSION} AS extension, count(*), total(c.duration), count(m.call_id),"
            " total(m.silence_seconds),"
            f" total(CASE {_SIDE} WHEN 0 THEN m.talk_0 ELSE m.talk_1 END), total(m.talk_total),"
            f" total(CASE {_SIDE} WHEN 0 THEN m.interruptions_0 ELSE m.interruptions_1 END)"
            " FROM calls c LEFT JOIN call_metrics m ON m.call_id = c.id AND m.error IS NULL"
            + where_clause([*conditions, f"{_EXTENSION} <> ''"])
            + " GROUP BY extension ORDER BY count(*) DESC, extension LIMIT :limit"
        )
        rows = self._db.execute(sql, {**params, "limit": limit}).fetchall()
        # The reviews, few against the calls, summed from their side (CROSS JOIN: reviews first)
        # rather than looked up for each call of the range.
        reviews = {e: (scored, score) for e, scored, score in self._db.execute(
            f"SELECT {_EXTENSION} AS extension, count(r.score), total(r.score)"
            " FROM reviews r CROSS JOIN calls c ON c.id = r.call_id"
            + where_clause(conditions) + " GROUP BY extension", params)}
        return [ExtensionFigures(e, n, round(s, 1), k, round(silence, 1), round(talk, 1), round(both, 1), int(i),
                                 *reviews.get(e, (0, 0.0)))
                for e, n, s, k, silence, talk, both, i in rows]

    def week_hours(self, *, date_from: str | None = None, date_to: str | None = None, number: str | None = None,
                   kind: str | None = None, zone: tzinfo | None = None) -> dict[int, int]:
        """Calls per hour of the week (filters.week_hour_sql: Monday 0:00 is 0) on `zone`'s clock,
        of the calls the call list would show for these filters."""
        where = CallFilter(date_from, date_to, number, None, kind, self.scope, zone=zone)
        conditions, params = where.where()
        local, local_params = where.local_start()
        rows = self._db.execute(f"SELECT {week_hour_sql(local)} AS hour, count(*) FROM calls c"
                                + where_clause(conditions) + " GROUP BY hour", {**params, **local_params}).fetchall()
        return {int(hour): n for hour, n in rows if hour is not None}

    def keywords(self, *, date_from: str | None = None, date_to: str | None = None, number: str | None = None,
                 kind: str | None = None, zone: tzinfo | None = None, limit: int = 10) -> list[tuple[str, int]]:
        """The keywords (the nlp stage's, per call) of the most calls among those the call list
        would show for these filters: (keyword, calls), most first."""
        where = CallFilter(date_from, date_to, number, None, kind, self.scope, zone=zone)
        conditions, params = where.where()
        rows = self._db.execute(
            "SELECT k.value AS keyword, count(*) AS n FROM calls c"
            " JOIN call_insights i ON i.call_id = c.id AND i.error IS NULL, json_each(i.data, '$.keywords') k"
            + where_clause(conditions) + " GROUP BY k.value ORDER BY n DESC, keyword LIMIT :limit",
            {**params, "limit": limit}).fetchall()
        return [(keyword, n) for keyword, n in rows]

    def days(self, *, date_from: str | None = None, date_to: str | None = None, number: str | None = None,
             kind: str | None = None, zone: tzinfo | None = None) -> list[DayFigures]:
        """Figures per day of `zone` of the calls the call list would show for these filters."""
        where = CallFilter(date_from, date_to, number, None, kind, self.scope, zone=zone)
        conditions, params = where.where()
        day, group, day_params = _local_day(where)
        params = {**params, **day_params}
        sql = (
            f"SELECT {day} AS day, count(*), total(c.duration), count(m.call_id),"
            f" total(m.silence_seconds), total(m.interruptions_total), total({ALERTED})"
            " FROM calls c LEFT JOIN call_metrics m ON m.call_id = c.id AND m.error IS NULL"
            + where_clause(conditions) + f" GROUP BY {group} ORDER BY day"
        )
        rows = self._db.execute(sql, params).fetchall()
        return [DayFigures(d, n, round(s, 1), k, round(silence, 1), int(i), int(a))
                for d, n, s, k, silence, i, a in rows]


def _local_day(where: CallFilter) -> tuple[str, str, dict]:
    """SQL for the call's start as a day of the filter's zone (CallFilter.local_start), SQL to
    group by it, and their parameters: the indexed UTC day (read in its order, no sorting) where
    the clock is UTC's, else the day's number, written as a date once per day, not per call."""
    local, params = where.local_start()
    if local == call_start("c."):
        return call_day("c."), call_day("c."), {}
    number = day_number_sql(local)
    return f"date({number} * 86400, 'unixepoch')", number, params
