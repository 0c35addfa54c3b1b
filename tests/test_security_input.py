"""Issue 15, input handling: hostile input against a real `appliance serve` (tests/served.py).

Each test attacks as a LAN user would and asserts what they see: status codes, headers, the
bytes of an export.
"""

from __future__ import annotations

import csv
import io
import json
from urllib.parse import quote

import pytest

from appliance.transcript.model import CallMeta
from served import served  # noqa: F401 - the module-scoped fixture
from web_helpers import recorded_call, talk, write_wav

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
        store.rename_speaker(call.call_id, 0, FORMULAS[2])
    return call.call_id


def test_calls_csv_export_never_starts_a_cell_with_a_formula(served, hostile_call):
    answer = served.login("admin").get("/calls/export.csv")
    assert answer.status == 200
    rows = list(csv.reader(io.StringIO(answer.body.decode("utf-8-sig"))))
    row = next(r for r in rows if r[0] == str(hostile_call))
    assert row[2] == "'" + FORMULAS[0] and row[3] == "'" + FORMULAS[1]
    assert row[9].startswith("'" + FORMULAS[2])
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
        admins_token = store.api_tokens(store.user_by_name("admin").id)[0].id
    for token_id in (str(admins_token), "999999", "99999999999999999999", "", "x"):
        answer = vic.post("/account", {"action": "revoke", "token_id": token_id}, token_from="/account")
        assert answer.status == 404, (token_id, answer.status)
    with served.store() as store:
        assert [t.id for t in store.api_tokens(store.user_by_name("admin").id)] == [admins_token]


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
