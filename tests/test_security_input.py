"""Issue 15, input handling: hostile input against a real `appliance serve` (tests/support/served.py).

Each test attacks as a LAN user would and asserts what they see: status codes, headers, the
bytes of an export.
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path
from urllib.parse import quote

import pytest

from appliance.transcript.model import CallMeta
from support.web import recorded_call, talk, write_wav

FORMULAS = ("=HYPERLINK(\"http://evil.example\",\"x\")", "=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1)",
            "\tTAB", "\rCR")


@pytest.fixture(scope="module")
def hostile_call(served):
    """A call whose caller id, callee and speaker label are spreadsheet formulas."""
    recordings = served.data_dir / "recordings"
    with served.store() as store:
        call = recorded_call(store, [write_wav(recordings / "hostile.wav", 2.0)],
                             CallMeta(uniqueid="hostile-1", caller=FORMULAS[0], callee=FORMULAS[1]),
                             talk([(0, "hello"), (1, "hi")]))
        store.transcripts.rename_speaker(call.call_id, 0, FORMULAS[2])
    return call.call_id


def test_calls_csv_export_never_starts_a_cell_with_a_formula(served, hostile_call):
    answer = served.login("admin").get("/calls/export.csv")
    assert answer.status == 200
    rows = list(csv.reader(io.StringIO(answer.body.decode("utf-8-sig"))))
    row = dict(zip(rows[0], next(r for r in rows if r[0] == str(hostile_call))))
    assert row["caller"] == "'" + FORMULAS[0] and row["callee"] == "'" + FORMULAS[1]
    assert row["speakers"].startswith("'" + FORMULAS[2])
    for cells in rows:
        assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in cells), cells


def test_every_formula_start_is_escaped():
    from appliance.web.csvcells import safe_cell

    assert [safe_cell(v) for v in FORMULAS] == ["'" + v for v in FORMULAS]
    assert [safe_cell(v) for v in ("201", "+", "", 3, None)] == ["201", "'+", "", 3, None]


HUGE = ("99999999999999999999", "9223372036854775808", "1" * 40, "-1", "1e9", "١", "٣", "0x1", " 1")


@pytest.mark.parametrize("value", HUGE)
def test_huge_or_unicode_ids_and_pages_are_4xx_never_500(served, value):
    admin = served.login("admin")
    for path in (f"/calls/{value}", f"/calls/{value}/audio", f"/calls/{value}/export/txt",
                 f"/api/calls/{value}", f"/live/{value}", f"/?page={value}", f"/search?q=clinic&page={value}",
                 f"/api/calls?page={value}", f"/admin/audit?page={value}"):
        answer = admin.get(quote(path, safe="/?=&"))
        assert answer.status < 500, (path, answer.status)
    assert served.alive()


def test_an_arabic_indic_digit_does_not_serve_call_1(served):
    admin = served.login("admin")
    assert admin.get(f"/calls/{served.own_call}/audio").status == 200
    digits = str(served.own_call).translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    for path in (f"/calls/{digits}/audio", f"/calls/{digits}", f"/api/calls/{digits}"):
        assert admin.get(quote(path)).status == 404, path


def test_revoking_an_unknown_or_foreign_token_is_a_404(served):
    admin, vic = served.login("admin"), served.login("vic")
    admin.post("/account", {"action": "token", "name": "crm"}, token_from="/account")
    with served.store() as store:
        admins_token = store.users.api_tokens(store.users.by_name("admin").id)[0].id
    for token_id in (str(admins_token), "999999", "99999999999999999999", "", "x"):
        answer = vic.post("/account", {"action": "revoke", "token_id": token_id}, token_from="/account")
        assert answer.status == 404, (token_id, answer.status)
    with served.store() as store:
        assert [t.id for t in store.users.api_tokens(store.users.by_name("admin").id)] == [admins_token]


def test_api_errors_answer_json(served):
    admin = served.login("admin")
    for method, path, status in (("GET", "/api/nothing-here", 404), ("GET", "/api/calls/999999", 404),
                                 ("POST", "/api/calls", 405), ("DELETE", "/api/search", 405)):
        answer = admin.request(method, path, headers={"X-CSRFToken": admin.csrf})
        assert answer.status == status, path
        assert answer.headers["Content-Type"].startswith("application/json"), path
        assert json.loads(answer.body)["error"] in ("not found", "method not allowed")
    page = admin.get("/calls/999999")
    assert page.status == 404 and page.headers["Content-Type"].startswith("text/html")


def test_authenticated_answers_are_not_cached(served):
    admin = served.login("admin")
    call = served.own_call
    for path in ("/", f"/calls/{call}", f"/calls/{call}/audio", f"/calls/{call}/export/txt",
                 "/calls/export.csv", "/api/calls", f"/api/calls/{call}", "/search?q=clinic"):
        answer = admin.get(path)
        assert answer.status == 200, path
        assert answer.headers["Cache-Control"] == "no-store", path


# --- exports of hostile names -----------------------------------------------------------------


@pytest.fixture(scope="module")
def control_call(served):
    """A call whose caller id and speaker names carry control characters and cue syntax."""
    with served.store() as store:
        call = recorded_call(store, [write_wav(served.data_dir / "recordings" / "control.wav", 2.0)],
                             CallMeta(uniqueid="control-1", caller="+49\x01\x0b30\x1f1", callee="2\x0000"),
                             talk([(0, "hello\x07 there"), (1, "hi\n\nNOTE forged")]))
        store.transcripts.rename_speaker(call.call_id, 0, "Bob--")
        store.transcripts.rename_speaker(call.call_id, 1, "Eve\x02 -->\n\n00:00.000 --> 00:09.000")
    return call.call_id


def test_docx_export_of_control_characters_is_a_document(served, control_call):
    import zipfile

    answer = served.login("admin").get(f"/calls/{control_call}/export/docx")
    assert answer.status == 200
    xml = zipfile.ZipFile(io.BytesIO(answer.body)).read("word/document.xml").decode()
    assert "+49301" in xml and "Bob--" in xml and "\x01" not in xml


def test_webvtt_and_srt_cues_cannot_be_ended_or_forged_by_a_name(served, control_call):
    admin = served.login("admin")
    vtt = admin.get(f"/calls/{control_call}/export/vtt").text
    cues = vtt.split("\n\n")
    timings = [line for line in vtt.splitlines() if "-->" in line]
    assert len(timings) == 2 and all(line.count(":") == 4 and "<" not in line for line in timings), vtt
    assert "<v Bob-&#45;>" in vtt and all(not c.startswith("NOTE forged") for c in cues)
    srt = admin.get(f"/calls/{control_call}/export/srt").text
    assert len([line for line in srt.splitlines() if "-->" in line]) == 2, srt


# --- ingest -----------------------------------------------------------------------------------


@pytest.mark.parametrize("uniqueid", ["../../../../../evil-i15", "/tmp/evil-i15", ".hidden", "a/b", "x" * 200, "a\nb"])
def test_ingest_refuses_a_uniqueid_that_is_not_a_plain_name(served, uniqueid):
    wav = write_wav(served.data_dir.parent / "incoming.wav", 1.0)
    done = served.cli("ingest", str(wav), "--uniqueid", uniqueid, check=False)
    assert done.returncode != 0 and "--uniqueid" in done.stderr
    assert not (served.data_dir.parent / "evil-i15").exists() and not os.path.exists("/tmp/evil-i15")
    with served.store() as store:
        assert all(call.uniqueid != uniqueid for call in store.calls.page(limit=100))


def test_ingest_accepts_an_asterisk_uniqueid(served):
    wav = write_wav(served.data_dir.parent / "incoming.wav", 1.0)
    assert "queued" in served.cli("ingest", str(wav), "--uniqueid", "1712345678.42").stdout


def test_an_interrupted_ingest_copy_never_has_the_final_name(tmp_path, monkeypatch):
    """`appliance ingest` stopped by a full disk half way: nothing under the recording's name
    (a later sweep would queue it), no temporary left, nothing queued."""
    from click.testing import CliRunner

    from appliance import cli
    from appliance.jobs import intake

    data = tmp_path / "data"
    source = write_wav(tmp_path / "in.wav", 2.0)

    def half_then_full(into, out, length):
        out.write(into.read(1000))
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(intake.shutil, "copyfileobj", half_then_full)
    monkeypatch.setenv("APPLIANCE_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("APPLIANCE_DATA_DIR", str(data))
    result = CliRunner().invoke(cli.cli, ["ingest", str(source), "--uniqueid", "1712345678.9"])
    assert result.exit_code != 0
    assert [p.name for p in data.rglob("*") if p.is_file() and p.suffix in (".wav", ".part")] == []


def test_a_spool_ticket_with_a_climbing_uniqueid_falls_back_to_the_file_name(tmp_path):
    from appliance.jobs.spool import read_ticket

    recording = write_wav(tmp_path / "1712345678.7.wav", 1.0)
    (tmp_path / "1712345678.7.json").write_text(json.dumps({"uniqueid": "../../etc/x", "caller": "201"}))
    meta, _ = read_ticket(recording, "1712345678.7")
    assert (meta.uniqueid, meta.caller) == ("1712345678.7", "201")
