"""Issue 15, the audit log tells the truth: against a real `appliance serve` (tests/support/served.py).

What a person got is what the log says: opening a page is not listening, every byte of audio
sent is in a "listen" entry (once per playback, with the ranges), every export and download
is logged; the log can be filtered and exported but not changed, and tampering with the
database file is found by `appliance audit verify`.
"""

from __future__ import annotations

import csv
import io
import json
from urllib.parse import quote

import pytest



def entries(served, action: str, target: str | None = None) -> list:
    with served.store() as store:
        return store.audit.entries(limit=None, action=action, target=target)


def audio(browser, call_id: int, play: str | None, byte_range: str | bytes | None = None, method: str = "GET"):
    query = f"?play={play}" if play else ""
    headers = {"Range": byte_range} if byte_range is not None else {}
    return browser.request(method, f"/calls/{call_id}/audio{query}", headers=headers)


def test_opening_a_call_page_is_not_listening(served):
    vic = served.login("vic")
    before = len(entries(served, "listen"))
    page = vic.get(f"/calls/{served.own_call}")
    assert page.status == 200
    # The player fetches nothing until play is pressed, and the page writes no listen entry.
    assert 'preload="none"' in page.text and f"/calls/{served.own_call}/audio?play=" in page.text
    assert len(entries(served, "listen")) == before
    assert audio(vic, served.own_call, "x", method="HEAD").status in (200, 206)
    assert len(entries(served, "listen")) == before


@pytest.mark.parametrize("byte_range", ["bytes= 0-", "bytes=1-", "bytes=0-99", "BYTES=-100", "bytes=5-, "])
def test_every_range_that_sends_audio_is_logged_with_what_it_sent(served, byte_range):
    vic = served.login("vic")
    before = len(entries(served, "listen", f"call {served.own_call}"))
    answer = audio(vic, served.own_call, None, byte_range)  # a download outside any page
    assert answer.status == 206 and answer.body
    start, end = answer.headers["Content-Range"].split()[1].split("/")[0].split("-")
    assert int(end) - int(start) + 1 == len(answer.body)
    (entry, *_) = entries(served, "listen", f"call {served.own_call}")
    assert len(entries(served, "listen", f"call {served.own_call}")) == before + 1
    assert entry.actor == "vic" and f"bytes {start}-{end} of " in entry.detail and " s)" in entry.detail


def test_a_download_without_range_is_logged_each_time(served):
    vic = served.login("vic")
    before = len(entries(served, "listen"))
    for _ in range(2):
        answer = audio(vic, served.own_call, None)
        assert answer.status == 200 and answer.body.startswith(b"RIFF")
    assert len(entries(served, "listen")) == before + 2


def test_one_playback_is_one_entry_and_a_seek_to_new_bytes_another(served):
    vic = served.login("vic")
    target = f"call {served.own_call}"
    before = len(entries(served, "listen", target))
    for byte_range in ("bytes=0-999", "bytes=0-499", "bytes=100-999"):  # re-buffering, one session
        assert audio(vic, served.own_call, "s1", byte_range).status == 206
    assert len(entries(served, "listen", target)) == before + 1
    assert audio(vic, served.own_call, "s1", "bytes=2000-").status == 206  # bytes not sent yet
    assert audio(vic, served.own_call, "s1", "bytes=3000-").status == 206  # covered by that one
    logged = entries(served, "listen", target)
    assert len(logged) == before + 2 and "bytes 2000-" in logged[0].detail
    # Another user on the same session key is another person listening.
    assert audio(served.login("admin"), served.own_call, "s1", "bytes=0-999").status == 206
    assert entries(served, "listen", target)[0].actor == "admin"


@pytest.mark.parametrize("byte_range", [
    "bytes=0-1,5-9",  # several ranges: refused, not quietly the whole file
    "bytes=abc", "bytes=5-1", "bytes=-0", "bytes=99999999999-", "items=0-", "bytes", "bytes=١-".encode(),  # an Arabic-Indic digit, sent as UTF-8
   
    "bytes=0 - 5", "bytes=" + "9" * 5000 + "-",
])
def test_a_range_that_cannot_be_served_as_asked_is_416_and_sends_nothing(served, byte_range):
    vic = served.login("vic")
    before = len(entries(served, "listen"))
    answer = audio(vic, served.own_call, "bad", byte_range)
    assert answer.status == 416 and answer.body == b""
    assert answer.headers["Content-Range"].startswith("bytes */")
    assert len(entries(served, "listen")) == before


@pytest.mark.parametrize("fmt", ["txt", "srt", "vtt", "json", "docx"])
def test_every_export_format_is_logged(served, fmt):
    vic = served.login("vic")
    before = len(entries(served, "export"))
    assert vic.get(f"/calls/{served.own_call}/export/{fmt}").status == 200
    (entry, *_) = entries(served, "export")
    assert len(entries(served, "export")) == before + 1
    assert (entry.actor, entry.target, entry.detail) == ("vic", f"call {served.own_call}", fmt)


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_every_range_export_is_logged(served, fmt):
    vic = served.login("vic")
    before = len(entries(served, "export-range"))
    assert vic.get(f"/calls/export.{fmt}").status == 200
    assert len(entries(served, "export-range")) == before + 1


# --- the audit page -----------------------------------------------------------------------------


def test_the_audit_page_filters_by_user_action_date_and_call(served):
    vic = served.login("vic")
    vic.get(f"/calls/{served.other_call}/export/txt")
    vic.get(f"/calls/{served.own_call}/export/vtt")
    admin = served.login("admin")
    page = admin.get(f"/admin/audit?user=vic&action=export&call={served.other_call}&from=2000-01-01&to=2999-12-31")
    assert page.status == 200
    rows = page.text.count("data-entry=")
    assert rows >= 1 and f"call {served.other_call}" in page.text and f"call {served.own_call}<" not in page.text
    assert admin.get("/admin/audit?user=vic&to=2000-01-01").text.count("data-entry=") == 0
    for bad in ("from=2024-13-01", "to=yesterday", "from=" + quote("２０２４-01-01"), "call=1e9", "call=" + "9" * 40):
        answer = admin.get(f"/admin/audit?{bad}")
        assert answer.status == 400, bad


def test_the_audit_page_is_for_admins_only(served):
    for path in ("/admin/audit", "/admin/audit/export.csv", "/admin/audit/export.json"):
        assert served.login("vic").get(path).status == 403
        assert served.browser().get(path).status in (302, 401)


def test_the_filtered_log_exports_as_csv_and_json_with_formulas_defused(served):
    hostile = "=HYPERLINK(\"http://evil.example\",\"x\")"
    served.browser().post("/login", {"username": hostile, "password": "wrong"}, token_from="/login")
    admin = served.login("admin")
    exported = admin.get("/admin/audit/export.csv?action=login-failed")
    assert exported.status == 200 and exported.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(exported.body.decode("utf-8-sig"))))
    assert rows[0] == ["id", "at", "user", "action", "target", "detail", "hash"]
    assert {row[3] for row in rows[1:]} == {"login-failed"}
    cells = [cell for row in rows[1:] for cell in row]
    assert "'" + hostile in cells and hostile not in cells
    as_json = json.loads(admin.get("/admin/audit/export.json?action=login-failed").body)
    assert hostile in {entry["user"] for entry in as_json} and all(len(e["hash"]) == 64 for e in as_json)
    # Exporting the log is itself in the log.
    assert [e.detail for e in entries(served, "audit-export")][:2] == ["json action=login-failed",
                                                                       "csv action=login-failed"]


def test_no_route_changes_or_deletes_an_entry(served):
    admin = served.login("admin")
    (entry, *_) = entries(served, "login")
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        for path in ("/admin/audit", f"/admin/audit/{entry.id}", "/admin/audit/export.csv"):
            answer = admin.request(method, path, {"csrf_token": admin.csrf, "action": "delete"})
            assert answer.status in (404, 405), (method, path, answer.status)
    with served.store() as store:
        assert store.audit.entries(limit=None)[-1].id == 1
        assert store.audit.verify().broken_id is None


def test_verify_finds_a_row_changed_in_the_database_file(served):
    import sqlite3

    ok = served.cli("audit", "verify")
    assert ok.returncode == 0 and ok.stdout.startswith("ok, ")
    (entry, *_) = entries(served, "login")
    conn = sqlite3.connect(served.data_dir / "appliance.db")
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("UPDATE audit_log SET actor = 'nobody' WHERE id = ?", [entry.id])
    conn.executescript(f"DROP TRIGGER audit_log_no_update; UPDATE audit_log SET actor = 'nobody' WHERE id = {entry.id};")
    conn.close()
    broken = served.cli("audit", "verify", check=False)
    assert broken.returncode == 1 and f"broken at entry {entry.id}" in broken.stderr


def test_a_change_and_its_entry_come_together_and_a_refused_one_leaves_none(served):
    admin = served.login("admin")
    call = served.other_call
    before = len(entries(served, "hold", f"call {call}"))
    assert admin.post(f"/calls/{call}/hold", {"hold": "1"}).status == 302
    assert admin.post(f"/calls/{call}/hold", {"hold": "0"}).status == 302
    with served.store() as store:
        assert not store.retention.legal_hold(call)
    assert len(entries(served, "hold", f"call {call}")) == before + 1
    assert entries(served, "hold-off", f"call {call}")[0].actor == "admin"
    # Refused changes (nothing there to change) write no entry claiming they happened.
    assert admin.post("/calls/999999/hold", {"hold": "1"}).status == 404
    assert admin.post("/admin/retention", {"action": "delete", "policy_id": "999999"}).status == 404
    assert entries(served, "hold", "call 999999") == [] and entries(served, "retention-policy-delete") == []


# --- the parts, without a server ----------------------------------------------------------------


@pytest.mark.parametrize("header, expected", [
    (None, None),
    ("bytes=0-", (0, 999)), ("bytes= 0-", (0, 999)), ("bytes=\t0-99 ", (0, 99)), (" bytes = 1-", (1, 999)),
    ("bytes=0-5000", (0, 999)), ("bytes=-100", (900, 999)), ("bytes=-5000", (0, 999)), ("bytes=,999-,", (999, 999)),
])
def test_byte_ranges_that_are_served(header, expected):
    from appliance.web.ranges import byte_range

    got = byte_range(header, 1000)
    assert (got if got is None else (got.start, got.end)) == expected


@pytest.mark.parametrize("header", ["bytes=1000-", "bytes=0-1,2-3", "bytes=", "bytes=-", "bytes=+1-", "bytes=0x1-",
                                    "bytes=1-0", "bits=0-", "bytes=-0", "bytes=0-" + "9" * 19])
def test_byte_ranges_that_are_refused(header):
    from appliance.web.ranges import Unsatisfiable, byte_range

    with pytest.raises(Unsatisfiable):
        byte_range(header, 1000)


def test_a_session_logs_only_bytes_it_has_not_logged_and_forgets_after_its_window(monkeypatch):
    from appliance.web import listens
    from appliance.web.ranges import ByteRange

    clock = [0.0]
    monkeypatch.setattr(listens.time, "monotonic", lambda: clock[0])
    seen = listens.Listens()
    assert seen.new_ranges("vic", 1, "k", ByteRange(0, 99))
    assert not seen.new_ranges("vic", 1, "k", ByteRange(10, 99))
    assert seen.new_ranges("vic", 1, "k", ByteRange(50, 199))  # reaches past what was logged
    assert not seen.new_ranges("vic", 1, "k", ByteRange(0, 199))  # merged: all of it logged
    assert seen.new_ranges("vic", 2, "k", ByteRange(0, 99)) and seen.new_ranges("ada", 1, "k", ByteRange(0, 9))
    assert seen.new_ranges("vic", 1, None, ByteRange(0, 9)) and seen.new_ranges("vic", 1, None, ByteRange(0, 9))
    clock[0] = listens.WINDOW_SECONDS + 1
    assert seen.new_ranges("vic", 1, "k", ByteRange(0, 99))  # a new playback after the window
