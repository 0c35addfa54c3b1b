"""What every mail of the box shares: the one relay it goes through, what a failed attempt
means (retry with back-off, failed after `mail_max_attempts`), and how a mail names a call
(its caller, its local time)."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

from appliance.config import Settings
from appliance.store.retry import retry_at
from appliance.transcript.times import moment

# What a relay that is down or refuses the mail raises; the deliverers retry these.
SEND_ERRORS = (OSError, smtplib.SMTPException)


def send(settings: Settings, message: EmailMessage) -> None:
    host, _, port = settings.mail_relay.partition(":")
    with smtplib.SMTP(host, int(port or 25), timeout=30) as smtp:
        smtp.send_message(message)


def failed_attempt(settings: Settings, attempts: int, exc: Exception, now: float) -> tuple[str, str, float]:
    """(state, error, next attempt) after `attempts` failed attempts, this one included."""
    state = "failed" if attempts >= settings.mail_max_attempts else "pending"
    return state, f"mail relay {settings.mail_relay}: {exc}", retry_at(now, settings.mail_retry_seconds, attempts)


def message(settings: Settings, recipient: str, subject: str, body: list[str]) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = settings.mail_from
    mail["To"] = recipient
    mail["Subject"] = subject
    mail.set_content("\n".join(body))
    return mail


def local_time(call, zone, language: str) -> str:
    """When the call began, in the site's zone and the recipient's language."""
    from babel.dates import format_datetime

    return format_datetime(moment(call.started_at or call.created_at), "full", tzinfo=zone, locale=language)


def caller(call, transcript) -> str | None:
    """The caller's number, with the name their voice carries (the address book's, a rename)."""
    voice = next((s.label for s in transcript.speakers if s.role in ("caller", "speaker")), None) if transcript else None
    return f"{voice} ({call.caller})" if call.caller and voice not in (None, call.caller, "Speaker 1") else call.caller
