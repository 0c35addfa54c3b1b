"""A mailbox's language is its owner's, for the mail; a message is transcribed in the caller's.

A German box on a German site: an English caller's long message (real LibriVox speech) is
transcribed in English once detection is on, and the owner's mail is still in German.
"""

import numpy as np
import pytest
import soundfile

from appliance import democall
from appliance.jobs.voicemail import scan_mailboxes
from appliance.jobs.worker import Worker
from appliance.mail.voicemail import deliver_pending
from appliance.store import Store
from support.asterisk import words

pytestmark = pytest.mark.model

OWNER = "besitzer@example.org"
# About 14 s of one English reader: over the test's detect_language_min_seconds, so detection is trusted.
CLIPS = ("0870", "0920")


def leave_message(voicemail_dir, mailbox: str, caller: str) -> None:
    inbox = voicemail_dir / "default" / mailbox / "INBOX"
    inbox.mkdir(parents=True)
    gap = np.zeros(democall.CALL_RATE // 2, np.float32)
    speech = np.concatenate([part for clip in CLIPS for part in (democall.read_voice(democall.LIBRIVOX / f"sense_and_sensibility_01_austen_64kb-{clip}.wav"), gap)])
    soundfile.write(str(inbox / "msg0000.wav"), democall.to_int16(speech), democall.CALL_RATE, subtype="PCM_16")
    (inbox / "msg0000.txt").write_text(f"[message]\ncallerid=<{caller}>\norigtime=1700000000\nmsg_id=1700000000-0\n")


def test_an_english_message_in_a_german_box_is_transcribed_in_english_and_mailed_in_german(
        make_settings, smtp_sink, tmp_path):
    sink, relay = smtp_sink
    settings = make_settings(language="de", detect_language=True, detect_language_min_seconds=10.0, mail_relay=relay,
                             voicemail_dir=tmp_path / "voicemail", spool_dir=tmp_path / "spool",
                             mailboxes={"100": {"name": "Empfang", "email": OWNER, "language": "de"}})
    leave_message(settings.voicemail_dir, "100", "+441632960001")

    with Store.open(settings) as store:
        (queued,) = scan_mailboxes(store, settings, settled=True)
        assert Worker(settings, store).run_once()
        call = store.calls.get(queued.call_id)
        text = words(store.transcripts.get(call.id).text)
        assert deliver_pending(store, settings) == 1

    assert (call.kind, call.language) == ("voicemail", "en")
    assert "dashwood" in text and "married" in text, text
    (mail,) = sink.messages
    assert mail["To"] == OWNER and mail["Subject"].startswith("Sprachnachricht von +441632960001")
    body = mail.get_body(preferencelist=("plain",)).get_content()
    assert "Sie haben eine neue Sprachnachricht" in body
    assert "dashwood" in words(body)
