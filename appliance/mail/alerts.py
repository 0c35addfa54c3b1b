"""Phrase alerts by mail: a call said a phrase an admin watches for ("Kündigung", "Anwalt"), and
the people its rule names are told, in the rule's language: which phrase, who said it, when, in
which sentence, and a link to that moment on the call page. No audio.

store.alerts queues one mail per call and recipient when the call is checked; this sends the
due ones through the relay, retried with back-off like the voicemail mail, failed after
`mail_max_attempts` (the phrases page lists those). A phrase corrected away before its mail went
leaves nothing to tell: that mail is skipped.
"""

from __future__ import annotations

import logging
import time
from email.message import EmailMessage

from appliance.config import Settings
from appliance.mail.relay import SEND_ERRORS, caller, failed_attempt, local_time, message, send
from appliance.store import Store
from appliance.transcript.times import clock

log = logging.getLogger(__name__)

TEXTS = {
    "en": {
        "subject": "Phrase alert {phrases}: call from {caller}",
        "quoted": "“{}”",
        "intro": "In the call from {caller} to {callee}, a phrase you are notified of was said.",
        "started": "The call began on {at}.",
        "hit": "{phrase}, said by {speaker} at {moment}:",
        "link": "Listen from that moment in the call appliance: {url}",
        "note": "The transcript is made on the call appliance and may contain errors.",
        "unknown": "an unknown caller",
        "roles": {"caller": "caller", "callee": "called party", "speaker": "speaker"},
    },
    "de": {
        "subject": "Phrasen-Alarm {phrases}: Anruf von {caller}",
        "quoted": "„{}“",
        "intro": "Im Anruf von {caller} an {callee} fiel eine Phrase, über die Sie benachrichtigt werden.",
        "started": "Der Anruf begann am {at}.",
        "hit": "{phrase}, gesagt von {speaker} bei {moment}:",
        "link": "Ab dieser Stelle anhören im Gesprächsarchiv: {url}",
        "note": "Die Abschrift wird auf dem Gesprächsarchiv erstellt und kann Fehler enthalten.",
        "unknown": "einem unbekannten Anrufer",
        "roles": {"caller": "Anrufer", "callee": "Angerufener", "speaker": "Sprecher"},
    },
}


def _speaker(transcript, index: int, text: dict) -> str:
    """The speaker's label as the call page shows it, with the party they are."""
    speaker = transcript.speaker(index)
    role = text["roles"].get(speaker.role, speaker.role)
    return speaker.label if speaker.label.casefold() == role.casefold() else f"{speaker.label} ({role})"


def _sentence(transcript, hit) -> str:
    """The turn the phrase was said in: the speaker's last turn begun by the phrase's moment."""
    turns = [t for t in transcript.turns if t.speaker == hit.speaker and t.start <= hit.at_seconds + 0.01]
    return turns[-1].text if turns else ""


def compose(settings: Settings, call, transcript, hits, recipient: str, language: str) -> EmailMessage:
    text = TEXTS.get(language, TEXTS["en"])
    who = caller(call, transcript) or text["unknown"]
    body = [text["intro"].format(caller=who, callee=call.callee or "?"),
            text["started"].format(at=local_time(call, settings.zone, language))]
    for hit in hits:
        speaker = _speaker(transcript, hit.speaker, text)
        body += [
            "",
            text["hit"].format(phrase=text["quoted"].format(hit.phrase), speaker=speaker, moment=clock(hit.at_seconds)),
            f"    {_sentence(transcript, hit)}",
            text["link"].format(url=f"{settings.site_url()}/calls/{call.id}#t={hit.at_seconds:g}"),
        ]
    body += ["", text["note"]]
    phrases = ", ".join(text["quoted"].format(hit.phrase) for hit in hits)
    return message(settings, recipient, text["subject"].format(phrases=phrases, caller=who), body)


def deliver_alerts(store: Store, settings: Settings, now: float | None = None) -> int:
    """Send every alert mail that is due; returns how many went out."""
    now = time.time() if now is None else now
    sent = 0
    for mail in store.alert_mail.due(now=now):
        language, hits = store.alerts.mailed(mail.call_id, mail.recipient)
        transcript = store.transcripts.get(mail.call_id)
        if not hits or transcript is None:
            store.alert_mail.record(mail.call_id, mail.recipient, "skipped", "the phrase is no longer in the call",
                                    now=now)
            continue
        try:
            send(settings, compose(settings, store.calls.get(mail.call_id), transcript, hits, mail.recipient,
                                   language))
        except SEND_ERRORS as exc:
            store.alert_mail.record(mail.call_id, mail.recipient,
                                    *failed_attempt(settings, mail.attempts + 1, exc, now), now=now)
            log.warning("alert mail for call %d not sent (attempt %d): %s", mail.call_id, mail.attempts + 1,
                        type(exc).__name__)
            continue
        store.alert_mail.record(mail.call_id, mail.recipient, "sent", now=now)
        sent += 1
    if sent:
        log.info("alert mail: %d sent", sent)
    return sent
