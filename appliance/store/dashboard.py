"""The supervisors' dashboard: figures per day over the calls a filter selects.

The same CallFilter as the call list, so the calls behind a day's bar are exactly the ones the
list shows for that day. The dead air and interruptions come from the stored conversation
metrics (appliance/store/metrics.py; CallMetrics' `silence_seconds` and `interruptions`), for the
calls that have them.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlite_utils import Database

from appliance.store.filters import CallFilter, where_clause
from appliance.store.schema import call_day


@dataclass(frozen=True)
class DayFigures:
    day: str  # YYYY-MM-DD, as the call list's day filter reads it
    calls: int
    seconds: float  # total duration of the transcribed ones
    measured: int  # calls with conversation metrics
    silence_seconds: float  # dead air, over the measured calls
    interruptions: int  # over the measured calls


def days(db: Database, where: CallFilter) -> list[DayFigures]:
    conditions, params = where.where()
    day = call_day("c.")
    sql = (
        f"SELECT {day} AS day, count(*), total(c.duration), count(m.call_id),"
        " total(json_extract(m.data, '$.silence_seconds')), total(json_array_length(m.data, '$.interruptions'))"
        " FROM calls c LEFT JOIN call_metrics m ON m.call_id = c.id AND m.error IS NULL"
        + where_clause(conditions) + f" GROUP BY {day} ORDER BY day"
    )
    rows = db.execute(sql, params).fetchall()
    return [DayFigures(d, n, round(s, 1), k, round(silence, 1), int(i)) for d, n, s, k, silence, i in rows]
