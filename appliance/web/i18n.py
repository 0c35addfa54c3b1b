"""German and English: per-user language, dates, times and durations in the user's locale."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from flask import request
from flask_babel import Babel, format_datetime, format_decimal, get_locale
from flask_login import current_user

LANGUAGES = ("en", "de")
TRANSLATIONS = Path(__file__).parent / "translations"


def select_locale() -> str:
    if current_user and current_user.is_authenticated and current_user.locale in LANGUAGES:
        return current_user.locale
    return request.accept_languages.best_match(LANGUAGES) or "en"


def to_datetime(value) -> datetime | None:
    """Calls carry Asterisk's ISO text or our unix seconds; both become an aware datetime."""
    if value in (None, ""):
        return None
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, timezone.utc)
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def when(value, style: str = "medium") -> str:
    moment = to_datetime(value)
    return format_datetime(moment, style) if moment else ""


def duration(seconds) -> str:
    """A call's length to the second ("1:14"): 74 s and 77 s must not both read "1 min"."""
    return "" if seconds is None else clock(round(seconds))


def clock(seconds) -> str:
    """Position in a recording, m:ss (h:mm:ss past an hour): the same in every language."""
    seconds = int(seconds or 0)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def number(value) -> str:
    """A figure with at most one decimal, in the user's locale (1.5 / 1,5); blank for none."""
    return "" if value is None else format_decimal(value, format="#,##0.#")


def init_app(app) -> None:
    Babel(app, locale_selector=select_locale, default_translation_directories=str(TRANSLATIONS))
    app.jinja_env.filters.update(when=when, duration=duration, clock=clock, number=number)
    app.jinja_env.globals.update(LANGUAGES=LANGUAGES, get_locale=get_locale)
