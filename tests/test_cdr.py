"""The PBX's call record linked to our transcripts: rows written by a real Asterisk 22
(cdr_csv's Master.csv, with the appliance's cdr.conf) are read from the CSV and, loaded into
FreePBX's `cdr` table on a real MariaDB as cdr_mysql would write them, through a read-only
user; each call shows its records (answered, talk time, DID), and they go with the call."""

from __future__ import annotations

import csv
import io
import json
import shutil
import socket
import sqlite3
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from appliance.asterisk.cdr import CSV_COLUMNS, read_csv, sync
from appliance.config import load_settings
from appliance.store import Store
from appliance.store.scopes import entry
from appliance.transcript.model import CallMeta
from support.asterisk import ROOT, settings_overrides, start_asterisk
from support.processes import unavailable, wait_for
from support.store import finished_call
from support.web import hashed, login, make_app, write_wav

UTC = timezone.utc
VOICE = Path("/usr/share/asterisk/sounds/en/conf-getchannel.wav")
FREEPBX_CDR = """CREATE TABLE cdr (
  calldate datetime NOT NULL, clid varchar(80) NOT NULL DEFAULT '', src varchar(80) NOT NULL DEFAULT '',
  dst varchar(80) NOT NULL DEFAULT '', dcontext varchar(80) NOT NULL DEFAULT '',
  channel varchar(80) NOT NULL DEFAULT '', dstchannel varchar(80) NOT NULL DEFAULT '',
  lastapp varchar(80) NOT NULL DEFAULT '', lastdata varchar(80) NOT NULL DEFAULT '',
  duration int(11) NOT NULL DEFAULT 0, billsec int(11) NOT NULL DEFAULT 0,
  disposition varchar(45) NOT NULL DEFAULT '', amaflags int(11) NOT NULL DEFAULT 0,
  accountcode varchar(20) NOT NULL DEFAULT '', uniqueid varchar(32) NOT NULL DEFAULT '',
  userfield varchar(255) NOT NULL DEFAULT '', did varchar(50) NOT NULL DEFAULT '',
  recordingfile varchar(255) NOT NULL DEFAULT '', cnum varchar(80) NOT NULL DEFAULT '',
  cnam varchar(80) NOT NULL DEFAULT '', outbound_cnum varchar(80) NOT NULL DEFAULT '',
  outbound_cnam varchar(80) NOT NULL DEFAULT '', dst_cnam varchar(80) NOT NULL DEFAULT '',
  linkedid varchar(32) NOT NULL DEFAULT '', peeraccount varchar(80) NOT NULL DEFAULT '',
  sequence int(11) NOT NULL DEFAULT 0, KEY calldate (calldate), KEY uniqueid (uniqueid)
)"""
FREEPBX_CEL = """CREATE TABLE cel (
  id int(11) NOT NULL AUTO_INCREMENT PRIMARY KEY, eventtype varchar(30) NOT NULL, eventtime datetime NOT NULL,
  cid_name varchar(80) NOT NULL, cid_num varchar(80) NOT NULL, cid_ani varchar(80) NOT NULL,
  cid_rdnis varchar(80) NOT NULL, cid_dnid varchar(80) NOT NULL, exten varchar(80) NOT NULL,
  context varchar(80) NOT NULL, channame varchar(80) NOT NULL, appname varchar(80) NOT NULL,
  appdata varchar(255) NOT NULL, amaflags int(11) NOT NULL, accountcode varchar(20) NOT NULL,
  uniqueid varchar(32) NOT NULL, linkedid varchar(32) NOT NULL, peer varchar(80) NOT NULL,
  userdeftype varchar(255) NOT NULL, extra varchar(512) NOT NULL,
  KEY uniqueid_index (uniqueid), KEY linkedid_index (linkedid), KEY eventtime_index (eventtime)
)"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def mariadb(tmp_path_factory):
    """A real MariaDB on loopback with FreePBX's asteriskcdrdb and a SELECT-only user."""
    server = shutil.which("mariadbd") or shutil.which("mysqld", path="/usr/sbin:/usr/bin")
    install = shutil.which("mariadb-install-db")
    if not server or not install:
        unavailable("MariaDB is needed for the CDR test (apt install mariadb-server)")
    import pymysql

    folder = tmp_path_factory.mktemp("mariadb")
    data, sock, port = folder / "data", folder / "mysqld.sock", _free_port()
    subprocess.run([install, "--no-defaults", f"--datadir={data}", "--user=root", "--skip-test-db",
                    "--auth-root-authentication-method=socket"], check=True, capture_output=True, timeout=300)
    log = open(folder / "mariadb.log", "w")
    process = subprocess.Popen([server, "--no-defaults", f"--datadir={data}", f"--socket={sock}", f"--port={port}",
                                "--bind-address=127.0.0.1", "--user=root", "--skip-log-bin",
                                f"--pid-file={folder / 'mysqld.pid'}"], stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: sock.exists() or process.poll() is not None, "MariaDB to start", deadline=120)
        assert process.poll() is None, (folder / "mariadb.log").read_text()[-2000:]
        admin = pymysql.connect(unix_socket=str(sock), user="root", autocommit=True)
        with admin.cursor() as cursor:
            cursor.execute("CREATE DATABASE asteriskcdrdb")
            cursor.execute("USE asteriskcdrdb")
            cursor.execute(FREEPBX_CDR)
            cursor.execute(FREEPBX_CEL)
            cursor.execute("CREATE USER 'appliance'@'127.0.0.1' IDENTIFIED BY 'read-only-pass'")
            cursor.execute("GRANT SELECT ON asteriskcdrdb.* TO 'appliance'@'127.0.0.1'")
        yield admin, f"mysql://appliance:read-only-pass@127.0.0.1:{port}/asteriskcdrdb"
        admin.close()
    finally:
        process.terminate()
        process.wait(timeout=60)
        log.close()


@pytest.fixture(scope="module")
def pbx_records(tmp_path_factory, models_dir):
    """The Master.csv rows of one real call through the test Asterisk: a caller's Local channel
    into test-pbx (answered, recorded, the callee's prompt played)."""
    data = tmp_path_factory.mktemp("cdr")
    settings = load_settings(None, environ={}, **settings_overrides(ROOT), data_dir=data, models_dir=models_dir)
    master = ROOT / "var/log/asterisk/cdr-csv/Master.csv"
    master.unlink(missing_ok=True)
    asterisk = start_asterisk(settings)
    try:
        asterisk.add_sound("cdr-voice", VOICE)
        asterisk.add_sound("callee-555", VOICE)
        asterisk.rx("channel originate Local/cdr-voice@test-caller extension 555@test-pbx")
        rows = wait_for(lambda: [r for r in (read_csv(master, settings.zone)[0] if master.exists() else [])
                                 if r.dst == "555"], "Asterisk's CDR row of the call")
    finally:
        asterisk.stop()
    return master, rows


@pytest.fixture
def box(tmp_path, make_settings):
    def make(**cdr_settings):
        settings = make_settings(**cdr_settings)
        return settings, Store.open(settings)
    return make


def test_asterisk_writes_the_columns_the_reader_expects(pbx_records):
    master, rows = pbx_records
    first_line = master.read_text().splitlines()[0]
    assert len(next(csv.reader([first_line]))) == len(CSV_COLUMNS)
    record = rows[0]
    assert record.disposition == "ANSWERED" and record.billsec >= 5
    assert record.linkedid and record.uniqueid and record.started_at.endswith("+00:00")


def test_records_from_the_csv_reach_the_recorded_call_and_go_with_it(pbx_records, box, tmp_path):
    master, rows = pbx_records
    settings, store = box(cdr_csv_path=master)
    record = rows[0]
    ours = store.intake.enqueue(CallMeta(uniqueid=record.uniqueid, linkedid=record.linkedid),
                                   [write_wav(tmp_path / "ours.wav")])
    other = store.intake.enqueue(CallMeta(uniqueid="1.2"), [write_wav(tmp_path / "other.wav")])
    assert sync(store, settings) >= 1
    assert sync(store, settings) == 0  # again: nothing new in the file, nothing read again
    linked = store.cdr.of_call(ours.call_id)
    assert [r.uniqueid for r in linked].count(record.uniqueid) == 1
    assert {r.dst for r in linked} >= {"555"} and linked[0].disposition == "ANSWERED"
    assert store.cdr.of_call(other.call_id) == []

    store.calls.delete(ours.call_id)  # retention or erasure: the records go with the call
    with sqlite3.connect(settings.db_path) as db:
        assert db.execute("SELECT count(*) FROM call_records").fetchone()[0] == 0


def test_each_scan_reads_what_asterisk_appended_and_the_last_hour_again_for_late_recordings(pbx_records, box,
                                                                                             tmp_path):
    """The real call's two Master.csv lines (its two legs), written as Asterisk appends them: a
    scan links what came since the last, never a half-written line; a recording queued after its
    row was read is linked on the next scan; an hour later the rows are not read again, and a
    rotated or truncated file is read from its start."""
    master, rows = pbx_records
    soon = datetime.fromisoformat(rows[0].ended_at) + timedelta(minutes=1)  # the scans right after the call
    # The longer line first: the truncated file below must be shorter than the mark.
    first, second = sorted((line + "\n" for line in master.read_text().splitlines()[:2]), key=len, reverse=True)
    leg_a, leg_b = (next(csv.reader([line]))[CSV_COLUMNS.index("uniqueid")] for line in (first, second))
    csv_file = tmp_path / "Master.csv"
    settings, store = box(cdr_csv_path=csv_file, cdr_timezone="UTC")
    a = store.intake.enqueue(CallMeta(uniqueid=leg_a), [write_wav(tmp_path / "a.wav")]).call_id

    csv_file.write_text(first)
    assert sync(store, settings, now=soon) == 1 and sync(store, settings, now=soon) == 0
    with csv_file.open("a") as out:
        out.write(second[:40])  # Asterisk is still writing the line
    assert sync(store, settings, now=soon) == 0
    with csv_file.open("a") as out:
        out.write(second[40:])
    assert sync(store, settings, now=soon) == 0  # leg b's recording is not here yet
    b = store.intake.enqueue(CallMeta(uniqueid=leg_b), [write_wav(tmp_path / "b.wav")]).call_id
    assert sync(store, settings, now=soon) == 1 and [r.uniqueid for r in store.cdr.of_call(b)] == [leg_b]
    assert [r.uniqueid for r in store.cdr.of_call(a)] == [leg_a]  # seen again, never a second copy

    later = datetime.fromisoformat(store.cdr.of_call(b)[0].ended_at) + timedelta(hours=2)
    assert sync(store, settings, now=later) == 0
    mark = store.cdr.mark("csv")
    assert read_csv(csv_file, UTC, mark, later) == ([], mark)  # an hour on, read only what is new

    csv_file.rename(tmp_path / "Master.csv.1")  # logrotate: a new file of another inode
    csv_file.write_text(first)
    assert [r.uniqueid for r in read_csv(csv_file, UTC, mark, later)[0]] == [leg_a]
    mark = read_csv(csv_file, UTC, mark, later)[1]
    with csv_file.open("r+") as out:  # copytruncate: the same file, shorter than the mark
        out.truncate(0)
        out.write(second)
    assert [r.uniqueid for r in read_csv(csv_file, UTC, mark, later)[0]] == [leg_b]


def _load_into_freepbx(admin, rows, **freepbx_columns):
    """The real Asterisk's rows in FreePBX's cdr table, with the columns FreePBX adds (did, cnum,
    cnam, recordingfile) and any of its others given per dst as {dst: {column: value}}."""
    with admin.cursor() as cursor:
        cursor.execute("DELETE FROM asteriskcdrdb.cdr")
        for row in rows:
            values = {"calldate": _local(row.started_at), "src": row.src or "", "dst": row.dst,
                      "dcontext": row.dcontext or "", "channel": row.channel or "", "dstchannel": row.dstchannel or "",
                      "lastapp": row.lastapp or "", "lastdata": row.lastdata or "", "duration": int(row.duration),
                      "billsec": int(row.billsec), "disposition": row.disposition, "uniqueid": row.uniqueid,
                      "linkedid": row.linkedid, "sequence": row.sequence, "did": "+493012345600",
                      "cnum": "+4930999", "cnam": "Praxis Müller", "recordingfile": f"in-555-+4930999-{row.uniqueid}.wav",
                      **freepbx_columns.get(row.dst, {})}
            cursor.execute(f"INSERT INTO asteriskcdrdb.cdr ({', '.join(values)}) VALUES ({', '.join(['%s'] * len(values))})",
                           list(values.values()))


def test_freepbx_records_on_mariadb_are_read_through_a_read_only_user(pbx_records, mariadb, box, tmp_path):
    _, rows = pbx_records
    admin, url = mariadb
    record = rows[0]
    _load_into_freepbx(admin, rows)
    settings, store = box(cdr_database_url=url)
    call = store.intake.enqueue(CallMeta(uniqueid=record.uniqueid), [write_wav(tmp_path / "call.wav")])
    assert sync(store, settings) >= 1
    linked = store.cdr.of_call(call.call_id)
    assert linked[0].did == "+493012345600" and linked[0].cnam == "Praxis Müller"
    assert linked[0].started_at == record.started_at  # the PBX's local time back in UTC

    # The call page shows the record a person reads.
    store.users.add("admin", hashed("admin-password-1"), "admin")
    client = make_app(settings).test_client()
    login(client, "admin", "admin-password-1")
    page = client.get(f"/calls/{call.call_id}").get_data(as_text=True)
    assert "Call record of the PBX" in page and "+493012345600" in page and "answered" in page


def test_the_record_rides_along_in_the_api_and_the_exports_within_the_users_scope(pbx_records, mariadb, box,
                                                                                    tmp_path):
    """A queue call FreePBX logged (the real Asterisk's rows, as extension 201 took it from queue
    400): answered by, queue, DID, result and talk time reach /api/calls/ID, the JSON export,
    the range exports and `appliance show --format json`; an agent of another extension sees
    neither the call nor its record."""
    from click.testing import CliRunner

    from appliance.cli import cli

    _, rows = pbx_records
    admin, url = mariadb
    record = next(r for r in rows if r.dst == "555")
    _load_into_freepbx(admin, rows, **{"555": {"dstchannel": "PJSIP/201-0000002a", "lastapp": "Queue",
                                                "lastdata": "400,t,,,300"}})
    settings, store = box(cdr_database_url=url)
    ours = finished_call(store, tmp_path, CallMeta(uniqueid=record.uniqueid, linkedid=record.linkedid,
                                                   caller="+4930999", callee="201"), [(0, "hello")]).call_id
    finished_call(store, tmp_path, CallMeta(uniqueid="9.9", caller="+4930888", callee="202"), [(0, "other")])
    assert sync(store, settings) >= 1
    expected = {"answered_by": "201", "queue": "400", "did": "+493012345600", "disposition": "ANSWERED",
                "billsec": record.billsec}
    store.users.add("admin", hashed("admin-password-1"), "admin")
    agent = store.users.add("agent202", hashed("agent-password-1"), "agent")
    store.users.set_scope_entries(agent.id, [entry("extension", "202")])
    client = make_app(settings).test_client()
    login(client, "admin", "admin-password-1")

    api = client.get(f"/api/calls/{ours}").get_json()["call_records"]
    leg = next(r for r in api if r["uniqueid"] == record.uniqueid)
    assert {k: leg[k] for k in expected} == expected and leg["started_at"] == record.started_at
    exported = json.loads(client.get(f"/calls/{ours}/export/json").get_data())["call_records"]
    assert exported == api
    by_id = {row["id"]: row for row in json.loads(client.get("/calls/export.json").get_data())}
    assert {k: by_id[ours][k] for k in expected} == {**expected, "answered_by": ["201"]}
    assert by_id[min(set(by_id) - {ours})]["disposition"] is None  # a call the PBX has no record of
    table = list(csv.DictReader(io.StringIO(client.get("/calls/export.csv").get_data().decode("utf-8-sig"))))
    line = next(row for row in table if row["id"] == str(ours))
    assert (line["answered_by"], line["queue"], line["did"], line["disposition"], float(line["billsec"])) == (
        "201", "400", "'+493012345600", "ANSWERED", record.billsec)  # a leading + never runs as a formula

    env = {"APPLIANCE_CONFIG": "/dev/null", "APPLIANCE_DATA_DIR": str(settings.data_dir)}
    shown = CliRunner().invoke(cli, ["show", str(ours), "--format", "json"], env=env)
    assert shown.exit_code == 0, shown.output
    assert {k: json.loads(shown.output)["call_records"][0][k] for k in expected} == expected

    other = make_app(settings).test_client()
    login(other, "agent202", "agent-password-1")
    assert other.get(f"/api/calls/{ours}").status_code == 404
    assert other.get(f"/calls/{ours}/export/json").status_code == 404
    assert "+493012345600" not in other.get("/calls/export.csv").get_data().decode("utf-8-sig")
    assert [row["disposition"] for row in json.loads(other.get("/calls/export.json").get_data())] == [None]


def test_an_attended_transfer_in_the_cel_makes_the_call_and_its_consultation_one_conversation(mariadb, box,
                                                                                                tmp_path):
    """CEL rows as Asterisk's cel.c writes them for an attended transfer: Alice calls Bob (201),
    Bob calls Charlie (202) on a second channel, then transfers Alice to Charlie. The event sits
    on Bob's first channel; its extra names his second (channel2_uniqueid), whose call has a
    linkedid of its own. The two recordings become one conversation; an unrelated call stays out."""
    admin, url = mariadb
    at = datetime.now().replace(microsecond=0)  # cel writes the PBX's local time

    def event(kind, seconds, uniqueid, linkedid, channel, extra=None):
        return [kind, (at + timedelta(seconds=seconds)).strftime("%Y-%m-%d %H:%M:%S"), "", "", "", "", "", "", "",
                channel, "", "", 3, "", uniqueid, linkedid, "", "", json.dumps(extra) if extra else ""]

    alice, bob, bob2, charlie = "1796400000.1", "1796400000.2", "1796400000.3", "1796400000.4"
    transfer = {"bridge1_id": "b1-3a5c", "channel2_name": "PJSIP/201-00000003", "channel2_uniqueid": bob2,
                "bridge2_id": "b2-77d1", "transferee_channel_name": "PJSIP/trunk-00000001",
                "transferee_channel_uniqueid": alice, "transfer_target_channel_name": "PJSIP/202-00000004",
                "transfer_target_channel_uniqueid": charlie}
    rows = [event("CHAN_START", 0, alice, alice, "PJSIP/trunk-00000001"),
            event("CHAN_START", 1, bob, alice, "PJSIP/201-00000002"),
            event("ANSWER", 3, bob, alice, "PJSIP/201-00000002"),
            event("BRIDGE_ENTER", 3, alice, alice, "PJSIP/trunk-00000001", {"bridge_id": "b1-3a5c"}),
            event("CHAN_START", 20, bob2, bob2, "PJSIP/201-00000003"),
            event("CHAN_START", 21, charlie, bob2, "PJSIP/202-00000004"),
            event("ANSWER", 24, charlie, bob2, "PJSIP/202-00000004"),
            event("ATTENDEDTRANSFER", 40, bob, alice, "PJSIP/201-00000002", transfer),
            event("HANGUP", 40, bob, alice, "PJSIP/201-00000002"),
            event("CHAN_START", 50, "1796400000.9", "1796400000.9", "PJSIP/203-00000009")]
    with admin.cursor() as cursor:
        cursor.execute("DELETE FROM asteriskcdrdb.cdr")
        cursor.execute("DELETE FROM asteriskcdrdb.cel")
        cursor.executemany("INSERT INTO asteriskcdrdb.cel (eventtype, eventtime, cid_name, cid_num, cid_ani, cid_rdnis,"
                           " cid_dnid, exten, context, channame, appname, appdata, amaflags, accountcode, uniqueid,"
                           " linkedid, peer, userdeftype, extra) VALUES (" + ", ".join(["%s"] * 19) + ")", rows)
    settings, store = box(cdr_database_url=url)
    first = finished_call(store, tmp_path, CallMeta(uniqueid=alice, linkedid=alice, callee="201"),
                          [(0, "hello")]).call_id
    consultation = finished_call(store, tmp_path, CallMeta(uniqueid=bob2, linkedid=bob2, caller="201",
                                                           callee="202"), [(0, "a caller for you")]).call_id
    other = finished_call(store, tmp_path, CallMeta(uniqueid="1796400000.9", linkedid="1796400000.9"),
                          [(0, "other")]).call_id
    assert [c.id for c in store.calls.conversation(first)] == [first]
    sync(store, settings)
    sync(store, settings)  # again: nothing doubles
    assert [c.id for c in store.calls.conversation(first)] == [first, consultation]
    assert [c.id for c in store.calls.conversation(consultation)] == [first, consultation]
    assert [c.id for c in store.calls.conversation(other)] == [other]


def test_a_wrong_cdr_password_is_a_readable_error_not_a_silent_nothing(mariadb, box):
    _, url = mariadb
    settings, store = box(cdr_database_url=url.replace("read-only-pass", "wrong"))
    with pytest.raises(Exception, match="Access denied"):
        sync(store, settings)


def _local(iso_utc: str) -> str:
    """A UTC ISO time as the box's local "YYYY-MM-DD HH:MM:SS", as cdr_mysql writes calldate."""
    return datetime.fromisoformat(iso_utc).astimezone().strftime("%Y-%m-%d %H:%M:%S")
