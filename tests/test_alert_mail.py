"""Phrase alerts by mail, from the real server: a phrase's rule names its recipients and the mail's
language; a call that says the phrase reaches them (a real SMTP sink) and the webhook that opted
in (a real HTTP receiver); a relay that is down leaves the mail pending, visibly, until a retry
gets it out; a correction that finds the phrase again mails no second time; addresses that are
none are refused with a reason, in English and German."""

import re
import time

import pytest

from appliance.analytics.phrases import run_pending as check_phrases
from appliance.mail.alerts import deliver_alerts
from appliance.transcript.model import CallMeta, Speaker
from appliance.webhooks import delivery
from support.web import recorded_call, talk, write_wav

RETENTION = "kuendigungen@praxis.example"
LEGAL = "recht@praxis.example"
CALLER = "+4930555"
SAID = [(0, "Guten Tag, hier ist Anna Schmidt"), (1, "Praxis Müller, was kann ich für Sie tun?"),
        (0, "Ich möchte meinen Vertrag zum Monatsende kündigen, bitte.")]


def german_call(served, uniqueid: str) -> int:
    """A German call from CALLER (named Anna Schmidt in the address book) to extension 201, on
    2 December 2026 at 09:10 UTC, whose caller says "kündigen" at 0:05."""
    with served.store() as store:
        store.contacts.save([(CALLER, "Anna Schmidt")])
        return recorded_call(store, [write_wav(served.data_dir / "recordings" / f"{uniqueid}.wav", 6.0)],
                             CallMeta(uniqueid=uniqueid, caller=CALLER, callee="201",
                                      started_at="2026-12-02T09:10:00+00:00"),
                             talk(SAID), (Speaker(0, CALLER, "caller"), Speaker(1, "201", "callee")),
                             language="de").call_id


def mails_to(sink, recipient: str, call_id: int) -> list:
    handler, _ = sink
    return [m for m in handler.messages if m["To"] == recipient and f"/calls/{call_id}#" in m.get_content()]


@pytest.fixture
def mail_settings(make_settings, smtp_sink):
    return make_settings(mail_relay=smtp_sink[1], public_url="http://calls.praxis.lan", timezone="Europe/Berlin")


@pytest.fixture(scope="module")
def rules(served, webhook_receiver):
    """"kündig" mails the retention team in German, "Anwalt" the legal contact in English; a
    webhook opted in to alerts."""
    admin = served.login("admin")
    assert admin.post("/admin/phrases", {"phrase": "kündig", "notify": "on", "mail_to": RETENTION,
                                         "mail_language": "de"}).status == 302
    assert admin.post("/admin/phrases", {"phrase": "Anwalt", "notify": "on", "mail_to": LEGAL,
                                         "mail_language": "en"}).status == 302
    with served.store() as store:
        store.webhooks.save(None, "crm", webhook_receiver[0], "s3cret", ("call", "alerts"), True)
    return served, admin


@pytest.fixture(scope="module")
def mailed(rules, smtp_sink):
    """A German call that says "kündigen", checked; its mail is sent (by the first test)."""
    served, admin = rules
    call = german_call(served, "alert-mail-1")
    with served.store() as store:
        check_phrases(store)
    return served, admin, call


def test_a_german_phrase_alert_reaches_the_mail_sink_and_the_webhook(mailed, smtp_sink, mail_settings,
                                                                    webhook_receiver, loopback_is_lan, settings):
    served, admin, call = mailed
    with served.store() as store:
        assert deliver_alerts(store, mail_settings) >= 1
        delivery.deliver_due(store, settings)
    [mail] = mails_to(smtp_sink, RETENTION, call)
    assert mail["Subject"] == "Phrasen-Alarm „kündig“: Anruf von Anna Schmidt (+4930555)"
    body = mail.get_content()
    assert "Im Anruf von Anna Schmidt (+4930555) an 201 fiel eine Phrase" in body
    assert "Der Anruf begann am Mittwoch, 2. Dezember 2026, 10:10:00 Mitteleuropäische Normalzeit." in body
    assert "„kündig“, gesagt von Anna Schmidt (Anrufer) bei 0:05:" in body
    assert "Ich möchte meinen Vertrag zum Monatsende kündigen, bitte." in body
    assert re.search(rf"Ab dieser Stelle anhören im Gesprächsarchiv: http://calls\.praxis\.lan/calls/{call}#t=5\.\d+",
                     body)
    assert "Praxis Müller" not in body  # the sentence it was said in, not the whole transcript
    assert not mail.is_multipart()  # no audio
    assert mails_to(smtp_sink, LEGAL, call) == []  # "Anwalt" was not said: its recipient is not told
    [alert] = [body for body in webhook_receiver[1] if body["event"] == "phrase.alert" and body["call_id"] == call]
    assert [(a["phrase"], a["speaker"]) for a in alert["alerts"]] == [("kündig", "Anna Schmidt")]
    page = admin.get(f"/calls/{call}").text
    assert f"Alert mail to {RETENTION}: sent" in page


def test_a_correction_that_finds_the_phrase_again_mails_no_more(mailed, smtp_sink, mail_settings):
    served, admin, call = mailed
    with served.store() as store:
        store.edits.edit(call, "admin", "word", 2, word=6, text="behalten,")
        check_phrases(store)
        assert store.alerts.of_call(call) == []
        store.edits.edit(call, "admin", "word", 2, word=6, text="kündigen,")
        check_phrases(store)
        assert [hit.phrase for hit in store.alerts.of_call(call)] == ["kündig"]
        deliver_alerts(store, mail_settings, now=time.time() + 86400)
    assert len(mails_to(smtp_sink, RETENTION, call)) == 1


def test_a_relay_that_is_down_leaves_the_mail_pending_until_a_retry(rules, smtp_sink, mail_settings, make_settings):
    served, admin = rules
    call = german_call(served, "alert-mail-down")
    down = make_settings(mail_relay="127.0.0.1:1", public_url="http://calls.praxis.lan")
    with served.store() as store:
        check_phrases(store)
        assert deliver_alerts(store, down) == 0
        [pending] = store.alert_mail.of_call(call)
        assert (pending.state, pending.attempts) == ("pending", 1) and "127.0.0.1:1" in pending.last_error
        # Not due before its back-off: the relay is not hammered.
        assert deliver_alerts(store, mail_settings) == 0 and mails_to(smtp_sink, RETENTION, call) == []
    page = admin.get("/admin/phrases").text
    listed = re.search(rf'<tr class="delivery pending" data-call="{call}">.*?</tr>', page, re.S)
    assert listed and RETENTION in listed[0] and "127.0.0.1:1" in listed[0]
    assert f"Alert mail to {RETENTION}: pending" in admin.get(f"/calls/{call}").text
    with served.store() as store:
        assert deliver_alerts(store, mail_settings, now=time.time() + down.mail_retry_seconds + 1) == 1
        assert store.alert_mail.of_call(call)[0].state == "sent"
    assert len(mails_to(smtp_sink, RETENTION, call)) == 1
    assert f'data-call="{call}"' not in admin.get("/admin/phrases").text


def test_a_mail_whose_last_attempt_fails_is_shown_failed(rules, make_settings):
    served, admin = rules
    call = german_call(served, "alert-mail-failed")
    down = make_settings(mail_relay="127.0.0.1:1", mail_max_attempts=1)
    with served.store() as store:
        check_phrases(store)
        assert deliver_alerts(store, down) == 0
        assert [m.state for m in store.alert_mail.of_call(call)] == ["failed"]
        assert deliver_alerts(store, down, now=time.time() + 86400) == 0  # failed for good: no more tries
        assert store.alert_mail.of_call(call)[0].attempts == 1
    page = admin.get("/admin/phrases").text
    listed = re.search(rf'<tr class="delivery failed" data-call="{call}">.*?</tr>', page, re.S)
    assert listed and RETENTION in listed[0] and "failed" in listed[0]
    assert f"Alert mail to {RETENTION}: failed" in admin.get(f"/calls/{call}").text


def test_recipients_are_edited_and_addresses_that_are_none_are_refused(rules):
    served, admin = rules
    with served.store() as store:
        rule = next(r for r in store.alerts.rules() if r.phrase == "Anwalt")
    page = admin.get("/admin/phrases").text
    assert f'value="{LEGAL}"' in page
    assert admin.post(f"/admin/phrases/{rule.id}/mail", {"mail_to": f"{LEGAL}; kanzlei@praxis.example",
                                                         "mail_language": "de"}).status == 302
    for bad in ("Anna Schmidt", "anna@", "a@b.example\r\nBcc: x@y.example", "<x@y.example>"):
        assert admin.post(f"/admin/phrases/{rule.id}/mail", {"mail_to": bad, "mail_language": "de"}).status == 302
        assert admin.post("/admin/phrases", {"phrase": "Beschwerde", "notify": "on", "mail_to": bad}).status == 302
    assert admin.post(f"/admin/phrases/{rule.id}/mail", {"mail_to": LEGAL, "mail_language": "fr"}).status == 302
    page = admin.get("/admin/phrases").text
    assert "Anna is not an e-mail address (one address like name@example.org" in page
    assert "An alert mail is in English or German." in page
    with served.store() as store:
        rules_now = {r.phrase: r for r in store.alerts.rules()}
        assert rules_now["Anwalt"].mail_to == (LEGAL, "kanzlei@praxis.example")
        assert rules_now["Anwalt"].mail_language == "de" and "Beschwerde" not in rules_now
        store.users.set_locale(store.users.by_name("admin").id, "de")
    admin.post(f"/admin/phrases/{rule.id}/mail", {"mail_to": "anna@", "mail_language": "de"})
    page = admin.get("/admin/phrases").text
    assert "anna@ ist keine E-Mail-Adresse (eine Adresse wie name@example.org" in page
    assert "E-Mail an" in page and "Nicht zugestellte Alarm-E-Mails" in page and "fehlgeschlagen" in page
    assert served.login("vic").post(f"/admin/phrases/{rule.id}/mail", {"mail_to": "x@y.example"}).status == 403
