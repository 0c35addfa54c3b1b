"""Real calls through a real Asterisk 22: recorded by the dialplan, transcribed by the worker."""

import os
import re
import subprocess
from pathlib import Path

import pytest

from appliance import democall
from appliance.asterisk.ari import Ari
from appliance.config import load_settings
from appliance.store import Store
from support.asterisk import by_role, settings_overrides, start_asterisk, words
from support.processes import wait_for
from support.processes import APPLIANCE

pytestmark = pytest.mark.model



MAILBOX = "100"
OWNER = "owner@example.org"


@pytest.fixture(scope="module")
def box(tmp_path_factory, models_dir, smtp_sink):
    """Asterisk in its root, and the appliance's worker on the host, sharing the spool."""
    from support.asterisk import ROOT

    data = tmp_path_factory.mktemp("box")
    overrides = {**settings_overrides(ROOT), "data_dir": data, "models_dir": models_dir,
                 # No periodic sweep, scan or mail within these tests: calls, voicemails, notes and
                 # their mail must all go by the hook's nudge (appliance.jobs.nudge).
                 "sweep_interval_seconds": 3600.0, "spool_settle_seconds": 1.0, "poll_interval_seconds": 3600.0,
                 "mail_relay": smtp_sink[1], "public_url": "http://appliance.test:8080"}
    # Mailboxes are a table: they go in the settings file, like on a real box.
    config = data / "appliance.toml"
    config.write_text(f'[mailboxes.{MAILBOX}]\nname = "Reception"\nemail = "{OWNER}"\nlanguage = "de"\n'
                      f'mail_notes = true\n')
    settings = load_settings(config, environ={}, **overrides)
    asterisk = start_asterisk(settings)
    env = {**os.environ, "APPLIANCE_CONFIG": str(config),
           **{f"APPLIANCE_{k.upper()}": str(v) for k, v in overrides.items()}}
    worker_log = open(data / "worker.log", "w")
    worker = subprocess.Popen([str(APPLIANCE), "-v", "worker"], env=env, stdout=worker_log, stderr=subprocess.STDOUT)
    try:
        yield settings, asterisk, env
    finally:
        worker.terminate()
        worker.wait(timeout=60)
        worker_log.close()
        asterisk.stop()


def test_selftest_passes_against_the_installed_asterisk(box):
    settings, asterisk, env = box
    result = subprocess.run([str(APPLIANCE), "selftest", "--timeout", "240"], env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    for stage in ("recorded", "queued", "transcribed", "speakers right", "searchable"):
        assert re.search(rf"^ok\s+{stage}", result.stdout, re.M), result.stdout
    assert "self-test passed" in result.stdout


def test_a_real_call_is_transcribed_with_each_party_and_the_metadata_from_asterisk(box):
    settings, asterisk, env = box
    caller_voice = asterisk.add_sound("caller-austen", democall.LIBRIVOX / "sense_and_sensibility_01_austen_64kb-0870.wav")
    asterisk.add_sound("callee-201", democall.ASTERISK_SOUNDS / "queue-periodic-announce.wav")
    # Caller ID is attacker-controlled: shell and path metacharacters must arrive as text.
    hostile = "$(touch /tmp/pwned);`id`|../../x"
    Ari.from_settings(settings).originate(
        f"Local/{caller_voice.split('/')[1]}@test-caller", context="test-pbx", extension="201",
        caller_id=f'"Mallory" <{hostile}>', variables={"CALLER_SECONDS": "9"})

    with Store.open(settings) as store:
        call = wait_for(lambda: next((c for c in store.calls.page() if c.callee == "201" and c.state == "done"), None),
                        "the call to be transcribed")
        transcript = store.transcripts.get(call.id)

    assert call.caller == hostile
    assert call.direction == "inbound" and call.uniqueid and call.started_at
    assert not Path("/tmp/pwned").exists() and not (asterisk.root / "tmp/pwned").exists()
    roles = by_role(transcript)
    assert "dashwood" in roles["caller"] and "representatives" not in roles["caller"]
    assert "representatives" in roles["callee"] and "dashwood" not in roles["callee"]
    assert [s.label for s in transcript.speakers] == [hostile, "201"]


def test_a_voicemail_is_transcribed_and_mailed_to_the_owner_without_audio(box, smtp_sink):
    settings, asterisk, env = box
    sink, _ = smtp_sink
    asterisk.add_sound("vm-message", democall.LIBRIVOX / "sense_and_sensibility_01_austen_64kb-0870.wav")
    Ari.from_settings(settings).originate("Local/vm-message@test-caller-late", context="test-vm",
                                          extension=MAILBOX, caller_id='"Anna" <+4930555>')

    with Store.open(settings) as store:
        call = wait_for(lambda: next((c for c in store.calls.page(kind="voicemail") if c.state == "done"), None),
                        "the voicemail to be transcribed")
        assert (call.caller, call.callee) == ("+4930555", MAILBOX)
        assert "dashwood" in words(store.transcripts.get(call.id).text)
        wait_for(lambda: (store.mail.of_call(call.id) or {}).get("state") == "sent", "the mail to be sent")

    (mail,) = [m for m in sink.messages if "+4930555" in m["Subject"]]
    assert mail["To"] == OWNER
    assert mail["Subject"].startswith("Sprachnachricht von +4930555")  # the owner reads German
    body = mail.get_body(preferencelist=("plain",)).get_content()
    assert "dashwood" in words(body)
    assert f"http://appliance.test:8080/calls/{call.id}" in body
    assert not any(part.get_content_maintype() == "audio" for part in mail.walk())


def test_a_voice_note_dictated_to_star_55_appears_as_a_note_of_that_extension(box, smtp_sink):
    settings, asterisk, env = box
    sink, _ = smtp_sink
    asterisk.add_sound("note-text", democall.ASTERISK_SOUNDS / "queue-periodic-announce.wav")
    Ari.from_settings(settings).originate("Local/note-text@test-caller", context="from-phones",
                                          extension="*55", caller_id=f'"Reception" <{MAILBOX}>')

    with Store.open(settings) as store:
        note = wait_for(lambda: next((c for c in store.calls.page(kind="note") if c.state == "done"), None),
                        "the note to be transcribed")
        transcript = store.transcripts.get(note.id)
        wait_for(lambda: (store.mail.of_call(note.id) or {}).get("state") == "sent", "the note's mail")

    assert note.caller == MAILBOX
    assert "representatives" in words(transcript.text)
    assert [s.label for s in transcript.speakers] == [MAILBOX]
    assert any("Sprachnotiz" in m["Subject"] for m in sink.messages)
