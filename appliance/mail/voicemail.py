"""Mail to mailbox owners: a voicemail's (or voice note's) transcript, in the owner's language.

Only text leaves the box, and only through the configured relay: the audio is attached only
where an admin switched that on for the mailbox. Deliveries are recorded in the store, so a
mail goes out once, and a relay that is down gets retries with back-off, visibly.
"""

from __future__ import annotations

import logging
import time
from email.message import EmailMessage
from pathlib import Path

from appliance.config import Mailbox, Settings
from appliance.mail.relay import SEND_ERRORS, caller, failed_attempt, local_time, message, send
from appliance.store import Store

log = logging.getLogger(__name__)

TEXTS = {
    "en": {
        "voicemail_subject": "Voicemail from {caller} ({duration} s)",
        "note_subject": "Voice note from {caller} ({duration} s)",
        "voicemail_intro": "You have a new voicemail from {caller} for mailbox {mailbox}, {duration} seconds long.",
        "note_intro": "Your voice note from extension {caller}, {duration} seconds long.",
        "left": "Left on {at}.",
        "transcript": "Transcript (made on the call appliance, may contain errors):",
        "nothing": "(No speech was recognised.)",
        "link": "Listen and read it in the call appliance: {url}",
        "unknown": "an unknown caller",
    },
    "de": {
        "voicemail_subject": "Sprachnachricht von {caller} ({duration} s)",
        "note_subject": "Sprachnotiz von {caller} ({duration} s)",
        "voicemail_intro": "Sie haben eine neue Sprachnachricht von {caller} für die Mailbox {mailbox}, {duration} Sekunden lang.",
        "note_intro": "Ihre Sprachnotiz von Nebenstelle {caller}, {duration} Sekunden lang.",
        "left": "Hinterlassen am {at}.",
        "transcript": "Abschrift (auf dem Gesprächsarchiv erstellt, kann Fehler enthalten):",
        "nothing": "(Es wurde keine Sprache erkannt.)",
        "link": "Anhören und lesen im Gesprächsarchiv: {url}",
        "unknown": "einem unbekannten Anrufer",
    },
}


def compose(settings: Settings, call, transcript, recipient: str, language: str, audio: Path | None) -> EmailMessage:
    text = TEXTS.get(language, TEXTS["en"])
    who = caller(call, transcript) or text["unknown"]
    duration = round(transcript.duration) if transcript else 0
    spoken = "\n".join(turn.text for turn in transcript.turns) if transcript and transcript.turns else text["nothing"]
    body = [
        text[f"{call.kind}_intro"].format(caller=who, mailbox=call.callee, duration=duration),
        text["left"].format(at=local_time(call, settings.zone, language)),
        "",
        text["transcript"],
        "",
        spoken,
        "",
        text["link"].format(url=f"{settings.site_url()}/calls/{call.id}"),
    ]
    mail = message(settings, recipient, text[f"{call.kind}_subject"].format(caller=who, duration=duration), body)
    if audio is not None:
        mail.add_attachment(audio.read_bytes(), maintype="audio", subtype="wav", filename=f"{call.kind}-{call.id}.wav")
    return mail


def _owner(settings: Settings, call) -> tuple[str | None, Mailbox]:
    """The mailbox a voicemail was left in, or the extension that dictated a note."""
    box = settings.mailbox(call.callee if call.kind == "voicemail" else call.caller)
    wanted = call.kind == "voicemail" or box.mail_notes
    return (box.email if wanted else "") or None, box


def deliver_pending(store: Store, settings: Settings, now: float | None = None) -> int:
    """Send every mail that is due; returns how many went out."""
    now = time.time() if now is None else now
    sent = 0
    for call in store.mail.due(now=now):
        recipient, box = _owner(settings, call)
        if not recipient:
            store.mail.record(call.id, "", "skipped", "no e-mail address for this mailbox", now=now)
            continue
        transcript = store.transcripts.get(call.id)
        audio = None
        if box.attach_audio:
            files = store.recordings.files(call.id)
            audio = Path(files[0]) if files else None
        try:
            send(settings, compose(settings, call, transcript, recipient, box.language, audio))
        except SEND_ERRORS as exc:
            delivery = store.mail.of_call(call.id) or {"attempts": 0}
            attempts = delivery["attempts"] + 1
            store.mail.record(call.id, recipient, *failed_attempt(settings, attempts, exc, now), now=now)
            log.warning("mail for call %d not sent (attempt %d): %s", call.id, attempts, type(exc).__name__)
            continue
        store.mail.record(call.id, recipient, "sent", now=now)
        sent += 1
        log.info("mail for call %d sent", call.id)
    return sent
