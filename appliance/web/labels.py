"""The words a person reads for the codes the appliance stores: directions, kinds, states, roles,
audit actions, services, webhook fields. Pages show `{{ call.direction|label("direction") }}`;
the code itself ("inbound") stays in the database, the exports and the API.

A code not listed here is shown as it is: it is data (a site's own entity kind, a menu name)."""

from __future__ import annotations

import re

from flask_babel import gettext


def N_(text: str) -> str:
    """Marks a text for the catalogue (pybabel extracts N_); gettext translates it when shown."""
    return text


_JOB_STATES = {"queued": N_("queued"), "running": N_("transcribing"), "done": N_("done"), "failed": N_("failed"),
               "quarantined": N_("bad recording")}

LABELS: dict[str, dict[str, str]] = {
    "direction": {"inbound": N_("inbound"), "outbound": N_("outbound"), "internal": N_("internal")},
    "kind": {"call": N_("call"), "voicemail": N_("voicemail"), "note": N_("voice note")},
    "state": _JOB_STATES,
    # A party of a call (Speaker.role) and the "Said by" choices of the search page.
    "party": {"caller": N_("caller"), "callee": N_("callee"), "speaker": N_("speaker")},
    "role": {"admin": N_("administrator"), "supervisor": N_("supervisor"), "agent": N_("agent"),
             "receptionist": N_("receptionist"), "viewer": N_("viewer")},
    "language": {"en": N_("English"), "de": N_("German")},
    # A remote worker on the jobs page (RemoteWorker.state).
    "worker": {"busy": N_("working"), "idle": N_("idle"), "offline": N_("offline")},
    "service": {"database": N_("database"), "worker": N_("worker"), "asterisk": N_("Asterisk")},
    "delivery": {"pending": N_("pending"), "sent": N_("sent"), "failed": N_("failed"), "skipped": N_("skipped")},
    "event": {"call.done": N_("call transcribed"), "phrase.alert": N_("phrase alert"), "test": N_("test")},
    "webhook_field": {"call": N_("call data"), "keywords": N_("keywords"), "summary": N_("summary"),
                      "entities": N_("entities"), "transcript": N_("transcript"), "link": N_("link"),
                      "alerts": N_("phrase alerts")},
    "entity": {"phone": N_("phone"), "email": N_("e-mail"), "date": N_("date"), "amount": N_("amount"),
               "order": N_("order"), "ticket": N_("ticket")},
    "criterion_kind": {"yes_no": N_("yes/no"), "scale": N_("1 to 5")},
    # Whose words a scorecard criterion's phrase is looked for in (store/reviews.py PARTIES).
    "said_by": {"anyone": N_("anyone"), "caller": N_("the caller"), "callee": N_("the called party")},
    "action": {
        "view": N_("viewed"), "listen": N_("listened"), "export": N_("exported"), "search": N_("searched"),
        "rename-speaker": N_("renamed a speaker"), "delete": N_("deleted"), "retry": N_("re-ran a job"),
        "hold": N_("put under legal hold"), "hold-off": N_("lifted the legal hold"),
        "login": N_("logged in"), "login-failed": N_("failed login"), "login-throttled": N_("login throttled"),
        "logout": N_("logged out"), "user-add": N_("added a user"), "user-access": N_("changed access"),
        "user-scope": N_("changed access"), "user-edit-permission": N_("changed the edit permission"),
        "user-reset-password": N_("reset a password"), "user-disable": N_("disabled a user"),
        "user-enable": N_("enabled a user"), "token-add": N_("created an API token"),
        "token-revoke": N_("revoked an API token"), "webhook-save": N_("saved a webhook"),
        "webhook-test": N_("tested a webhook"), "webhook-delete": N_("deleted a webhook"),
        "export-range": N_("exported a date range"), "audit-export": N_("exported the audit log"),
        "selftest": N_("ran the self-test"), "erase": N_("erased"), "erasure": N_("erasure on request"),
        "erasure-search": N_("searched for an erasure"), "retention-audio": N_("audio removed by retention"),
        "retention-delete": N_("deleted by retention"), "retention-policy-add": N_("added a retention policy"),
        "retention-policy-delete": N_("removed a retention policy"), "restore": N_("restored a backup"),
        "disk-low": N_("disk almost full"), "disk-ok": N_("disk space back"),
        "review-save": N_("saved a review"), "comment-add": N_("commented"), "comment-delete": N_("deleted a comment"),
        "criterion-add": N_("added a scorecard criterion"), "criterion-delete": N_("removed a scorecard criterion"),
        "phrase-add": N_("added a phrase alert"), "phrase-delete": N_("removed a phrase alert"),
        "crm-names": N_("took names from the CRM"),
        "phrase-mail": N_("changed who a phrase alert mails"),
    },
}

# What an audit entry is about: "call 12", "user vic", "conversation of call 12".
_TARGETS = {"call": N_("call %(id)s"), "job": N_("job %(id)s"), "user": N_("user %(id)s"),
            "webhook": N_("webhook %(id)s"), "policy": N_("policy %(id)s"),
            "criterion": N_("criterion %(id)s"), "phrase": N_("phrase %(id)s"),
            "conversation of call": N_("conversation of call %(id)s")}
_TARGET = re.compile(r"^(" + "|".join(sorted(_TARGETS, key=len, reverse=True)) + r") (.+)$")


# An error's case (ApplianceError.code) as the web UI says it; `values` fill the placeholders.
ERRORS = {
    "unbalanced-quote": N_("The search has an unbalanced quote (\"): close the phrase or remove it."),
    "empty-query": N_("Nothing to search for: type a word, a number or a \"phrase\"."),
    "lonely-operator": N_("%(operator)s needs a search word on each side (write %(word)s in lower case to search "
                          "for the word itself)."),
    "query-failed": N_("The search could not run; try fewer or simpler words."),
    "scope-kind": N_("an entry is extension, number, mailbox, group or all, not %(kind)s"),
    "scope-value": N_("a %(kind)s needs 1 to %(most)s printable characters"),
    "legal-hold": N_("The call is under legal hold; lift the hold to delete it."),
    "url-characters": N_("A webhook URL contains no spaces, line breaks or control characters."),
    "url-invalid": N_("This is not a valid URL."),
    "url-scheme": N_("A webhook URL starts with http:// or https:// and names a host."),
    "url-port": N_("Port 0 is not a port a webhook can be sent to."),
    "host-unknown": N_("The webhook host %(host)s cannot be resolved."),
    "not-lan": N_("%(host)s (%(address)s) is not on the LAN: webhooks only go to private addresses."),
    "review-text": N_("A text has at most %(most)s printable characters."),
    "criterion": N_("A criterion needs a text, a kind (yes/no or 1-5) and a weight from 0 to 100."),
    "criterion-phrase": N_("A phrase answers a yes/no criterion, said by the caller, the called party or anyone."),
    "review-answer": N_("An answer is yes/no or 1 to 5, for a criterion of the scorecard."),
    "comment": N_("A comment needs a text and a moment of the call (m:ss)."),
    "filter-name": N_("A filter's name has 1 to %(most)s printable characters."),
    "filter-count": N_("At most %(most)s saved filters per user: delete one first."),
    # Why a job failed (stored with the job: appliance/jobs/worker.py, appliance/audio.py).
    "worker-stopped": N_("the worker stopped %(times)s times while transcribing this recording (killed or out of "
                         "memory); retry it once the cause is fixed"),
    "internal-error": N_("internal error (%(error)s); the job will be retried"),
    "remote-internal-error": N_("internal error on worker %(worker)s (%(error)s); the job will be retried"),
    "audio-channels": N_("%(file)s: %(channels)s channels; expected 1 (mono) or 2 (one party per channel)"),
    "audio-files": N_("expected one recording file or an r()/t() pair, got %(files)s files"),
    "audio-no-samples": N_("%(file)s: contains no audio samples"),
    "audio-invalid-samples": N_("%(file)s: contains invalid samples (NaN or infinity); the file is damaged"),
    "audio-silent": N_("%(file)s: no sound at all (every sample is zero); the call's audio was not captured"),
    "audio-folder": N_("%(file)s: is a folder, not a recording file"),
    "audio-missing": N_("%(file)s: file not found"),
    "audio-empty-file": N_("%(file)s: file is empty (0 bytes)"),
    "audio-pair-not-mono": N_("%(file)s: an r()/t() file must be mono, it has %(channels)s channels"),
    "audio-rate": N_("%(file)s: sample rate %(rate)s Hz is not supported (expected %(low)s–%(high)s Hz)"),
    "audio-too-long": N_("%(file)s: recording is %(length)s long; the limit is %(limit)s (setting "
                         "max_duration_seconds)"),
    "audio-raw-format": N_("%(file)s: unknown raw format %(suffix)s; use .sln16, .sln48, ..."),
    "audio-truncated": N_("%(file)s: %(size)s bytes is not a whole number of 16-bit frames; the file is truncated "
                          "or is not signed-linear audio"),
    "audio-wav-header": N_("%(file)s: the WAV header is truncated or damaged"),
    "audio-damaged": N_("%(file)s: the audio data is damaged (%(detail)s)"),
    "audio-no-stream": N_("%(file)s: has no audio stream"),
    "audio-rate-unknown": N_("%(file)s: the sample rate is unknown"),
    "audio-undecodable": N_("%(file)s: not an audio file this appliance can decode (%(detail)s)"),
    "phrase": N_("A phrase has 1 to %(most)s printable characters."),
    "phrase-known": N_("The phrase %(phrase)s is watched already."),
    # What came of a name-source webhook's answer (appliance/webhooks/answers.py), in its delivery log.
    "answer-names": N_("Names taken: %(n)s (new or changed in the address book: %(changed)s)."),
    "answer-size": N_("No names taken: the answer is over %(most)s KiB."),
    "answer-type": N_("No names taken: the answer is not JSON (Content-Type %(type)s)."),
    "answer-json": N_("No names taken: the answer is not valid JSON in UTF-8."),
    "answer-shape": N_("No names taken: the answer is not an object with \"caller_name\", \"callee_name\" or "
                       "\"contacts\"."),
    "answer-count": N_("No names taken: the answer names more than %(most)s numbers."),
    "answer-entry": N_("No names taken: %(where)s: a number is a string of digits, + * # (at most %(number)s "
                       "characters), a name one of 1 to %(name)s printable characters."),
    "mail-address": N_("%(address)s is not an e-mail address (one address like name@example.org, several separated "
                       "by commas)."),
    "mail-count": N_("A phrase mails at most %(most)s recipients."),
    "mail-language": N_("An alert mail is in English or German."),
}
# The cases a job fails with (above): the calls list's script says them when a job fails while
# the list is open (job_error_texts).
JOB_ERRORS = ("worker-stopped", "internal-error", "remote-internal-error",
              *(code for code in ERRORS if code.startswith("audio-")))


def error_text(error) -> str:
    """What a person reads for an ApplianceError, in their language (the English message when
    its case has no text here)."""
    return _said(getattr(error, "code", None), getattr(error, "values", {}), str(error))


def job_error_texts() -> dict[str, str]:
    """The texts of job errors in the reader's language, placeholders (%(file)s) left in: for
    the calls list's script, which fills them from an event's error values."""
    return {code: gettext(ERRORS[code]) for code in JOB_ERRORS}


def job_error(item) -> str:
    """Why a job (or a call's latest job) failed, in the reader's language: from its stored case,
    else (older rows, cases without a text here) the English text stored with it."""
    return _said(item.error_code, item.error_values, item.error or "")


def _said(code: str | None, values: dict, english: str) -> str:
    text = ERRORS.get(code)
    try:
        return gettext(text, **values) if text else english
    except (KeyError, ValueError, TypeError):  # values that do not fit the text (another version's)
        return english


def delivery_note(delivery) -> str:
    """What came of a webhook's answer (its delivery's note), in the reader's language."""
    return _said(delivery.note_code, delivery.note_values, delivery.note or "")


def label(code, group: str) -> str:
    """The translated word for `code` in `group`; the code itself when it has none."""
    if code in (None, ""):
        return ""
    text = LABELS[group].get(code)
    return gettext(text) if text else code


def audit_target(target: str | None) -> str:
    if not target:
        return ""
    match = _TARGET.match(target)
    return gettext(_TARGETS[match[1]], id=match[2]) if match else target


def init_app(app) -> None:
    app.jinja_env.filters.update(label=label, audit_target=audit_target, job_error=job_error,
                                 delivery_note=delivery_note)
    app.jinja_env.globals.update(job_error_texts=job_error_texts)
