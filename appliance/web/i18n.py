"""German and English: per-user language, dates, times and durations in the user's locale, times
in the user's time zone (else the site's)."""

from __future__ import annotations

import functools
from dataclasses import replace
from pathlib import Path
from zoneinfo import ZoneInfo, available_timezones

from flask import current_app, request
from flask_babel import Babel, format_datetime, format_decimal, get_locale, get_timezone
from flask_login import current_user

from appliance.config import zone_named
from appliance.transcript.model import Transcript
from appliance.transcript.times import clock, iso, moment

LANGUAGES = ("en", "de")
TRANSLATIONS = Path(__file__).parent / "translations"


def select_locale() -> str:
    if current_user and current_user.is_authenticated and current_user.locale in LANGUAGES:
        return current_user.locale
    return request.accept_languages.best_match(LANGUAGES) or "en"


def select_zone() -> ZoneInfo:
    """The user's own time zone, else the site's (a setting, by default the box's)."""
    if current_user and current_user.is_authenticated and current_user.timezone:
        zone = zone_named(current_user.timezone)
        if zone is not None:
            return zone
    return current_app.config["APPLIANCE_SETTINGS"].zone


@functools.cache
def zone_names() -> tuple[str, ...]:
    """The IANA zones a user may pick, sorted."""
    return tuple(sorted(available_timezones()))


def when(value, style: str = "medium") -> str:
    """A time on a page, in the request's zone (select_zone) and language."""
    at = moment(value)
    return format_datetime(at, style) if at else ""


def local_iso(value) -> str | None:
    """A time for an export or the API: ISO 8601 in the request's zone, with its offset."""
    return iso(value, get_timezone())


def local_transcript(transcript: Transcript) -> Transcript:
    """The transcript with its call's start in the request's zone, for its exports."""
    return replace(transcript, meta=replace(transcript.meta, started_at=local_iso(transcript.meta.started_at)))


def duration(seconds) -> str:
    """A call's length to the second ("1:14"): 74 s and 77 s must not both read "1 min"."""
    return "" if seconds is None else clock(round(seconds))


def number(value) -> str:
    """A figure with at most one decimal, in the user's locale (1.5 / 1,5); blank for none."""
    return "" if value is None else format_decimal(value, format="#,##0.#")


def init_app(app) -> None:
    Babel(app, locale_selector=select_locale, timezone_selector=select_zone,
          default_translation_directories=str(TRANSLATIONS))
    app.jinja_env.filters.update(when=when, duration=duration, clock=clock, number=number)
    app.jinja_env.globals.update(LANGUAGES=LANGUAGES, get_locale=get_locale)
