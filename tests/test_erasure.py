"""Erasure on request: every call, voicemail and note involving a number or a word is shown,
erased with one confirmed action, and afterwards not one byte of it is left in the database
file, its WAL, the spool or the recordings folder."""

import base64
import json
import re
from pathlib import Path

import pytest

from appliance.jobs.spool import sweep
from appliance.ops import erasure
from appliance.transcript.model import CallMeta
from support.web import audit_actions, post, recorded_call, talk, write_raw, write_wav

NUMBER = "+49 30 8172 6354"
NATIONAL = "030 8172-6354"
SURNAME = "Quargelbrot"
# What of the person may be stored anywhere: the name, the number in both notations, its digits
# as the search index keeps them, and the base64 form Asterisk's hook writes into tickets.
NEEDLES = [SURNAME.encode(), SURNAME.lower().encode(), b"8172", b"6354",
           base64.b64encode(NUMBER.encode()), base64.b64encode(NATIONAL.encode())]
OTHER_WORD = b"Zebrafink"


def finish(store, job_id, meta, lines):
    job = store.jobs.claim("erasure-test", 60)
    assert job.id == job_id
    from appliance.transcript.model import Transcript
    from support.web import CALLER_AND_CALLEE

    turns = talk(lines)
    assert store.jobs.finish(job.id, "erasure-test", Transcript("en", "fw", "base", 9.0, CALLER_AND_CALLEE, tuple(turns), meta))


@pytest.fixture
def person(store, settings, tmp_path):
    """A caller's data in every shape the box keeps it, and one unrelated call."""
    recordings = settings.data_dir / "recordings"
    recordings.mkdir(parents=True)
    spool = settings.spool_dir
    spool.mkdir(parents=True)
    ids = {}
    # 1. A call through Asterisk's hook: a spool recording with its ticket (numbers in base64).
    (spool / "1700000001.1.json").write_text(json.dumps({
        "uniqueid": "1700000001.1", "caller_b64": base64.b64encode(NUMBER.encode()).decode(),
        "callee": "200", "direction": "inbound"}))
    write_raw(spool / "1700000001.1.raw")
    (queued,) = sweep(store, settings, now=2e9)
    finish(store, queued.job_id, store.jobs.get(queued.job_id).meta,
           [(0, f"hello this is Anna {SURNAME} about my appointment"), (1, "thank you, noted")])
    ids["hooked"] = queued.call_id
    # 2. A voicemail left from the same number, written the national way.
    meta = CallMeta(uniqueid="vm-1700000002-0001", caller=NATIONAL, callee="100", kind="voicemail")
    ids["voicemail"] = recorded_call(store, [write_wav(recordings / "vm.wav")], meta,
                                     talk([(0, "please call me back")])).call_id
    # 3. A voice note that only names her.
    meta = CallMeta(uniqueid="note-1", caller="101", callee="101", kind="note")
    ids["note"] = recorded_call(store, [write_wav(recordings / "note.wav")], meta,
                                talk([(0, f"remind me to send {SURNAME} the contract")])).call_id
    # What other parts of the box derive from her calls: insights (and the webhook deliveries
    # they queue), the voice menu's log, a live draft whose recording never arrived.
    store.webhooks.save(None, "crm", "http://crm.lan/hook", "s3cret", ["summary"], True)
    for call_id, transcript_id in store.insights.needing():
        store.insights.save(call_id, transcript_id, {"keywords": [SURNAME.lower(), "appointment"],
                                                     "summary": [{"text": f"{SURNAME} asks about her appointment"}]})
    from appliance.store.menu import MenuInteraction

    store.menu.log(MenuInteraction("1700000001.1", None, "main", 1, "speech", f"{SURNAME} please",
                                               None, None, 0.4, "whisper", 2.0, 80.0, 1.0))
    draft = store.live.start("1700000009.9", caller=NUMBER, callee="200", direction="inbound")
    store.live.event(draft, "caller", final=True, text=f"this is {SURNAME} again")
    # 4. Someone else entirely.
    meta = CallMeta(uniqueid="other-1", caller="+44 20 7946 0958", callee="200")
    ids["other"] = recorded_call(store, [write_wav(recordings / "other.wav")], meta,
                                 talk([(0, "the Zebrafink order is ready")])).call_id
    return ids


def traces(settings) -> dict[str, list[bytes]]:
    """Which needles each file of the box holds, byte for byte."""
    found = {}
    files = [settings.db_path, settings.db_path.with_name(settings.db_path.name + "-wal")]
    files += [p for folder in (settings.spool_dir, settings.data_dir / "recordings", settings.data_dir / "cache")
              for p in folder.rglob("*") if p.is_file()]
    for path in files:
        if path.exists():
            data = path.read_bytes()
            hits = [needle for needle in NEEDLES + [OTHER_WORD] if needle in data]
            if hits:
                found[str(path)] = hits
    return found


def test_erasure_finds_every_call_voicemail_and_note_and_leaves_no_byte_behind(store, settings, person, admin_client):
    with admin_client.get(f"/calls/{person['hooked']}/audio") as played:  # makes a playback copy
        assert played.status_code == 200
    before = traces(settings)
    assert any(SURNAME.encode() in hits for hits in before.values())  # the test can see what it looks for
    assert any(b"8172" in hits for hits in before.values())

    page = admin_client.get("/admin/erasure", query_string={"number": "0049 (30) 81726354", "words": SURNAME})
    html = page.get_data(as_text=True)
    shown = {int(i) for i in re.findall(r'data-found="(\d+)"', html)}
    assert shown == {person["hooked"], person["voicemail"], person["note"]}

    # Without the tick nothing happens.
    data = {"number": "0049 (30) 81726354", "words": SURNAME, "call": [str(i) for i in shown]}
    post(admin_client, "/admin/erasure", data, token_from="/admin/erasure")
    assert len(store.calls.page()) == 4
    response = post(admin_client, "/admin/erasure", {**data, "confirm": "yes"}, token_from="/admin/erasure")

    assert response.status_code == 302
    assert [call.id for call in store.calls.page()] == [person["other"]]
    left = traces(settings)
    assert all(hits == [OTHER_WORD] for hits in left.values()), left
    assert any(OTHER_WORD in hits for hits in left.values())  # the rest of the box is intact
    assert not (settings.spool_dir / "1700000001.1.json").exists()
    assert [hit.call_id for hit in store.search.hits("Zebrafink")] == [person["other"]]
    # The audit log names the calls, never the number or the name.
    erased = {entry.target for entry in audit_actions(store, "erase")}
    assert erased == {f"call {i}" for i in shown}
    log = " ".join(f"{e.target} {e.detail}" for e in store.audit.entries(limit=1000))
    assert SURNAME not in log and "8172" not in log
    # And the spool sweep does not bring the erased recording back.
    assert sweep(store, settings, now=2e9) == []


def test_a_call_under_legal_hold_is_shown_and_kept(store, settings, person):
    store.retention.set_legal_hold(person["note"], True)
    found = erasure.find(store, words=SURNAME)
    assert {c.id for c in found.calls} == {person["hooked"], person["note"]} and found.held == (person["note"],)

    result = erasure.erase(store, settings, found, actor="ada")

    assert result.deleted == [person["hooked"]] and result.held == [person["note"]]
    assert store.transcripts.get(person["note"]) is not None


def test_only_the_calls_the_admin_saw_are_erased(store, settings, person):
    found = erasure.find(store, number=NUMBER)
    assert {c.id for c in found.calls} == {person["hooked"], person["voicemail"]}
    erasure.erase(store, settings, found, actor="ada", only={person["voicemail"]})
    assert {c.id for c in store.calls.page()} == {person["hooked"], person["note"], person["other"]}


def test_an_extension_matches_only_itself_and_an_empty_request_is_refused(store, settings, person):
    assert {c.id for c in erasure.find(store, number="101").calls} == {person["note"]}
    assert erasure.find(store, number="200").calls  # the callee of two calls
    with pytest.raises(Exception, match="phone number or a word"):
        erasure.find(store, "  ", "")


def test_the_command_line_erases_too(store, settings, person, tmp_path):
    from click.testing import CliRunner

    from appliance.cli import cli

    result = CliRunner().invoke(cli, ["erase", "--words", SURNAME, "--yes"],
                                env={"APPLIANCE_CONFIG": "/dev/null", "APPLIANCE_DATA_DIR": str(settings.data_dir)})
    assert result.exit_code == 0, result.output
    assert "erased 2 call(s)" in result.output
    assert {c.id for c in store.calls.page()} == {person["voicemail"], person["other"]}
    assert Path(settings.db_path).exists()


def test_no_trace_is_left_where_sqlite_does_not_zero_deleted_pages(store, settings, person):
    # Debian builds SQLite with SECURE_DELETE; most others do not, and freed pages, old FTS
    # segments and WAL frames keep the bytes there. Erasure must not rely on the build.
    store._db.conn.execute("PRAGMA secure_delete = OFF")
    found = erasure.find(store, number=NATIONAL, words=SURNAME)

    result = erasure.erase(store, settings, found, actor="ada")

    assert result.file_compacted and len(result.deleted) == 3
    left = traces(settings)
    assert all(hits == [OTHER_WORD] for hits in left.values()), left


def test_a_voicemail_is_erased_from_asterisks_mailbox_too(store, make_settings, tmp_path):
    from appliance.jobs.voicemail import scan_mailboxes

    settings = make_settings(voicemail_dir=tmp_path / "voicemail", spool_settle_seconds=0)
    inbox = settings.voicemail_dir / "default" / "100" / "INBOX"
    inbox.mkdir(parents=True)
    (inbox / "msg0000.txt").write_text(
        f'[message]\ncallerid="Anna" <{NUMBER}>\norigtime=1700000000\nmsg_id=1700000000-00000001\n')
    write_wav(inbox / "msg0000.wav")
    (queued,) = scan_mailboxes(store, settings)
    finish(store, queued.job_id, store.jobs.get(queued.job_id).meta, [(0, "please call me back")])

    result = erasure.erase(store, settings, erasure.find(store, number=NATIONAL), actor="ada")

    assert result.deleted == [queued.call_id] and not result.files_left
    assert list(inbox.iterdir()) == []  # Asterisk's copy, with the caller ID in its .txt
    assert list((settings.data_dir / "recordings" / "voicemail").iterdir()) == []
    assert scan_mailboxes(store, settings) == []
