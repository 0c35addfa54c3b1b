"""A call's moments as people read them: a stored time (Asterisk's ISO 8601 text, or our unix
seconds) read as an aware datetime, and written as ISO 8601 in a time zone, offset included, so
an export, the API and the page say the same time."""

from __future__ import annotations

from datetime import datetime, timezone, tzinfo


def moment(value) -> datetime | None:
    """An aware datetime; text without an offset is UTC; None for nothing or what is no time."""
    if value in (None, ""):
        return None
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, timezone.utc)
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def iso(value, zone: tzinfo) -> str | None:
    """"2026-12-02T09:10:00+01:00": the time in `zone`, to the second; None for no time."""
    when = moment(value)
    return when.astimezone(zone).isoformat(timespec="seconds") if when else None


def clock(seconds) -> str:
    """Position in a recording, m:ss (h:mm:ss past an hour): the same in every language (pages,
    mails)."""
    seconds = int(seconds or 0)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
