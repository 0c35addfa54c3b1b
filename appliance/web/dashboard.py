"""The dashboard: calls per day as a chart drawn on the box (SVG, no script, nothing fetched from
elsewhere), each bar a link to exactly those calls in the call list; per day the calls, their
total and average length, dead air and interruptions; per extension the same with its talk
share. Filters: a date range and a number (an extension), the call list's own. Scoped like
every read: a user sees only their calls."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from babel.dates import get_day_names
from flask import Blueprint, render_template
from flask_babel import get_locale

from appliance.store.dashboard import DayFigures
from appliance.web import get_store
from appliance.web.calls import list_filters

bp = Blueprint("dashboard", __name__)
DEFAULT_DAYS = 14
MOST_DAYS = 366  # one bar per day; a longer range is cut to its last year


def _range(filters: dict) -> tuple[date, date]:
    last = date.fromisoformat(filters["date_to"]) if filters["date_to"] else datetime.now(filters["zone"]).date()
    first = date.fromisoformat(filters["date_from"]) if filters["date_from"] else last - timedelta(DEFAULT_DAYS - 1)
    if first > last:
        first, last = last, first
    return max(first, last - timedelta(MOST_DAYS - 1)), last


def every_day(figures: list[DayFigures], first: date, last: date) -> list[DayFigures]:
    """One entry per day of the range, days without calls included (the chart has no gaps)."""
    found = {f.day: f for f in figures}
    days = (first + timedelta(n) for n in range((last - first).days + 1))
    return [found.get(d.isoformat(), DayFigures(d.isoformat(), 0, 0.0, 0, 0.0, 0, 0)) for d in days]


@bp.route("/dashboard")
def index():
    filters = list_filters()
    first, last = _range(filters)
    selected = {"date_from": first.isoformat(), "date_to": last.isoformat(), "number": filters["number"], "kind": "call",
                "zone": filters["zone"]}
    days = every_day(get_store().dashboard.days(**selected), first, last)
    hours = get_store().dashboard.week_hours(**selected)
    # Top keywords against the period just before, as long as this one.
    before = {"date_from": (first - (last - first) - timedelta(1)).isoformat(),
              "date_to": (first - timedelta(1)).isoformat()}
    earlier = dict(get_store().dashboard.keywords(**{**selected, **before}, limit=1000))
    keywords = [(word, n, n - earlier.get(word, 0), word not in earlier)
                for word, n in get_store().dashboard.keywords(**selected)]
    # Voicemails nobody has opened yet: the ones no one has answered.
    unanswered = get_store().calls.count(**{**selected, "kind": "voicemail"}, unheard=True)
    return render_template("dashboard.html", days=days, first=first.isoformat(), last=last.isoformat(),
                           hours=hours, most_hour=max(hours.values(), default=0), unanswered=unanswered, keywords=keywords,
                           weekdays=list(get_day_names("abbreviated", locale=get_locale()).values()),
                           extensions=get_store().dashboard.extensions(**selected),
                           number=filters["number"] or "", most=max((d.calls for d in days), default=0),
                           total=sum(d.calls for d in days), seconds=sum(d.seconds for d in days),
                           alerted=sum(d.alerted for d in days))
