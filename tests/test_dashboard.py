"""The dashboard: calls per day as bars drawn on the box, each a link that lists exactly those
calls; per day the calls, their length, dead air and interruptions; filters; scoped."""

import re

import pytest

from appliance.analytics.metrics import compute
from appliance.store.scopes import entry
from appliance.transcript.model import CallMeta
from support.web import hashed, login, recorded_call, talk

AGENT_PASSWORD = "agent-pass-dashboard-1"
RANGE = "/dashboard?from=2026-05-01&to=2026-05-03"


@pytest.fixture
def calls(store, tmp_path):
    """Two calls on 1 May (extensions 201 and 202), one on 3 May (201), a voicemail on 1 May."""
    def call(uniqueid, day, caller, callee, kind="call"):
        meta = CallMeta(uniqueid=uniqueid, caller=caller, callee=callee, kind=kind,
                        started_at=f"{day}T10:00:00+00:00")
        return recorded_call(store, [tmp_path / f"{uniqueid}.wav"], meta,
                             talk([(0, "hello"), (1, "good morning")])).call_id

    ids = {"may1_201": call("d1", "2026-05-01", "201", "+4930111"),
           "may1_202": call("d2", "2026-05-01", "+4930222", "202"),
           "may3_201": call("d3", "2026-05-03", "+4930333", "201"),
           "voicemail": call("d4", "2026-05-01", "+4930444", "201", kind="voicemail")}
    # Measured: 1 s of dead air and one interruption; 3 s and none.
    for key, spans in (("may1_201", [[(0.0, 2.0)], [(1.5, 3.0), (4.0, 5.0)]]), ("may1_202", [[(0.0, 1.0)], [(4.0, 5.0)]])):
        for call_id, transcript_id in store.metrics.needing():
            if call_id == ids[key]:
                store.metrics.save(call_id, transcript_id, compute(spans, ["", ""], exact=True).to_dict())
    return ids


def bars(page: str) -> dict[str, int]:
    return {day: int(n) for day, n in re.findall(r'<a class="bar" href="[^"]*" data-day="([^"]+)" data-calls="(\d+)"', page)}


def bar_link(page: str, day: str) -> str:
    match = re.search(rf'<a class="bar" href="([^"]+)" data-day="{day}"', page)
    return match[1].replace("&amp;", "&")


def listed(client, path: str) -> set[int]:
    page = client.get(path)
    assert page.status_code == 200
    return {int(i) for i in re.findall(r'<tr data-call="(\d+)"', page.get_data(as_text=True))}


def test_bars_count_the_calls_of_each_day_and_lead_to_exactly_those(admin_client, calls):
    page = admin_client.get(RANGE).get_data(as_text=True)
    assert bars(page) == {"2026-05-01": 2, "2026-05-02": 0, "2026-05-03": 1}  # voicemail apart
    assert "<svg" in page and "<script" not in page.split("<svg", 1)[1].split("</svg>", 1)[0]
    assert listed(admin_client, bar_link(page, "2026-05-01")) == {calls["may1_201"], calls["may1_202"]}
    assert listed(admin_client, bar_link(page, "2026-05-03")) == {calls["may3_201"]}
    assert listed(admin_client, bar_link(page, "2026-05-02")) == set()


def test_each_day_shows_its_length_dead_air_and_interruptions(admin_client, calls):
    page = admin_client.get(RANGE).get_data(as_text=True)
    row = re.search(r'<tr data-day="2026-05-01">(.*?)</tr>', page, re.S)[1]
    cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
    # talk(): two turns, 3.5 s a call; dead air 1 s and 3 s: 2 s per call; one interruption.
    assert cells == ["2026-05-01", "2", "0:07", "0:04", "2 s", "1", ""]  # no phrase alerts
    assert "2026-05-02" not in re.findall(r'<tr data-day="([^"]+)"', page)


def test_the_number_filter_narrows_bars_and_links_alike(admin_client, calls):
    page = admin_client.get(RANGE + "&number=201").get_data(as_text=True)
    assert bars(page) == {"2026-05-01": 1, "2026-05-02": 0, "2026-05-03": 1}
    assert listed(admin_client, bar_link(page, "2026-05-01")) == {calls["may1_201"]}


def test_an_agent_counts_only_their_own_calls(app, store, calls):
    agent = store.users.add("agent", hashed(AGENT_PASSWORD), "agent")
    store.users.set_scope_entries(agent.id, [entry("extension", "202")])
    client = app.test_client()
    assert login(client, "agent", AGENT_PASSWORD).status_code == 302
    page = client.get(RANGE).get_data(as_text=True)
    assert bars(page) == {"2026-05-01": 1, "2026-05-02": 0, "2026-05-03": 0}
    assert listed(client, bar_link(page, "2026-05-01")) == {calls["may1_202"]}
    assert re.findall(r'<tr data-extension="([^"]+)"', page) == ["202"]


def test_odd_ranges_give_a_page_not_an_error(admin_client, calls):
    swapped = admin_client.get("/dashboard?from=2026-05-03&to=2026-05-01").get_data(as_text=True)
    assert bars(swapped) == {"2026-05-01": 2, "2026-05-02": 0, "2026-05-03": 1}
    for query in ("from=yesterday", "to=2026-13-45", "from=1900-01-01&to=2026-05-03", "number=%00"):
        answer = admin_client.get(f"/dashboard?{query}")
        assert answer.status_code == 200, query
        assert len(bars(answer.get_data(as_text=True))) <= 366


def test_the_dashboard_in_german(admin_client, store, admin_user, calls):
    store.users.set_locale(admin_user.id, "de")
    page = admin_client.get(RANGE).get_data(as_text=True)
    assert "Anrufe pro Tag" in page and "Stille pro Anruf" in page and ">Übersicht<" in page


def test_each_extension_shows_its_calls_talk_share_dead_air_and_interruptions(admin_client, store, tmp_path, calls):
    # An outbound call of 202: there 202 is the caller (speaker 0), who breaks in and talks 4 s.
    meta = CallMeta(uniqueid="d5", caller="202", callee="+4930555", kind="call", direction="outbound",
                    started_at="2026-05-02T09:00:00+00:00")
    out = recorded_call(store, [tmp_path / "d5.wav"], meta, talk([(0, "hello"), (1, "hi")])).call_id
    transcript_id = dict(store.metrics.needing())[out]
    store.metrics.save(out, transcript_id, compute([[(1.0, 5.0)], [(0.0, 2.5)]], ["", ""], exact=True).to_dict())
    page = admin_client.get(RANGE).get_data(as_text=True)
    rows = {}
    for extension, row in re.findall(r'<tr data-extension="([^"]+)">(.*?)</tr>', page, re.S):
        rows[extension] = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
    # 201: d1 (no direction: the shorter number, the caller) and d3 (the callee); only d1 is
    # measured: 2 of 4.5 s, 1 s of dead air, the other side broke in. 202: d2 (callee, 1 of 2 s,
    # 3 s of dead air) and d5 (outbound: the caller, 4 of 6.5 s, breaking in once): 5 of 8.5 s.
    # (the last column, the review score, is empty: nobody reviewed them)
    assert rows["201"] == ["201", "2", "0:07", "0:04", "44 %", "1 s", "0", ""]
    assert rows["202"] == ["202", "2", "0:07", "0:04", "59 %", "1.5 s", "1", ""]
    assert "+4930111" not in rows and "+4930555" not in rows


def cells(page: str) -> dict[int, tuple[int, str]]:
    """The heatmap's cells: hour of the week -> (calls, the link)."""
    return {int(h): (int(n), link.replace("&amp;", "&")) for link, h, n in re.findall(
        r'<a class="cell" href="([^"]+)" data-week-hour="(\d+)" data-calls="(\d+)"', page)}


def test_the_hour_of_week_heatmap_counts_in_the_users_zone_and_leads_to_those_calls(admin_client, admin_user,
                                                                                      store, calls):
    # 10:00 UTC is 12:00 in Berlin (summer time); 1 May 2026 is a Friday, 3 May a Sunday.
    store.users.set_timezone(admin_user.id, "Europe/Berlin")
    page = admin_client.get(RANGE).get_data(as_text=True)
    heat = cells(page)
    friday_noon, sunday_noon = 4 * 24 + 12, 6 * 24 + 12
    assert len(heat) == 7 * 24
    assert {h: n for h, (n, _) in heat.items() if n} == {friday_noon: 2, sunday_noon: 1}
    assert listed(admin_client, heat[friday_noon][1]) == {calls["may1_201"], calls["may1_202"]}
    assert listed(admin_client, heat[sunday_noon][1]) == {calls["may3_201"]}
    assert listed(admin_client, heat[friday_noon - 2][1]) == set()  # 10:00 is UTC's hour, not Berlin's
    assert ">Fri</text>" in page and ">Mon</text>" in page
    # A week hour that is none is no filter, never a 500.
    for bad in ("168", "-1", "x", "99999999999999"):
        assert admin_client.get(f"/?weekhour={bad}").status_code == 200


def test_unanswered_voicemails_are_counted_and_listed_until_someone_opens_them(admin_client, calls):
    page = admin_client.get(RANGE).get_data(as_text=True)
    match = re.search(r'<a class="unanswered" href="([^"]+)">1 unanswered voicemail</a>', page)
    assert match
    link = match[1].replace("&amp;", "&")
    assert listed(admin_client, link) == {calls["voicemail"]}
    assert admin_client.get(f"/calls/{calls['voicemail']}").status_code == 200  # someone listens
    assert '<a class="unanswered"' in (page := admin_client.get(RANGE).get_data(as_text=True))
    assert "0 unanswered voicemails" in page
    assert listed(admin_client, link) == set()


def test_top_keywords_with_their_trend_against_the_period_before(admin_client, store, tmp_path, calls):
    earlier = recorded_call(store, [tmp_path / "d0.wav"], CallMeta(uniqueid="d0", caller="201", callee="+4930999",
                                                                   started_at="2026-04-29T10:00:00+00:00"),
                            talk([(0, "hello"), (1, "hi")])).call_id
    words = {calls["may1_201"]: ["invoice", "delivery"], calls["may1_202"]: ["invoice"],
             calls["may3_201"]: ["invoice", "refund"], earlier: ["delivery", "invoice"]}
    for call_id, transcript_id in store.insights.needing():
        if call_id in words:
            store.insights.save(call_id, transcript_id, {"keywords": words[call_id], "summary": []})
    page = admin_client.get(RANGE).get_data(as_text=True)
    items = [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", item)).strip()
             for item in re.findall(r'<li data-keyword="[^"]+">(.*?)</li>', page, re.S)]
    # 1-3 May against 28-30 April: invoice 3 (1 before), delivery 1 (1), refund 1 (none).
    assert items == ["invoice 3 calls ▲ +2", "delivery 1 calls =", "refund 1 calls new"]
    assert 'href="/?kind=call&amp;from=2026-05-01&amp;to=2026-05-03&amp;keyword=invoice"' in page
