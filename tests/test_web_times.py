"""Times and durations as the pages, exports, the API and mails show them: in the site's time
zone (a setting, by default the box's) or the user's own, with offsets in ISO 8601; the list in
call order, sortable."""

import csv
import io
import json
from zoneinfo import ZoneInfo

import pytest

from appliance.config import box_zone
from appliance.errors import ConfigError
from appliance.mail.voicemail import compose
from appliance.transcript.model import CallMeta
from appliance.transcript.times import iso, moment
from appliance.web.i18n import duration
from support.web import post, recorded_call, talk, write_wav

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def settings(make_settings):
    return make_settings(timezone="Europe/Berlin")


@pytest.fixture
def offset_call(store, tmp_path):
    """A call Asterisk started at 09:10 Berlin time (+01:00), 74 s long."""
    meta = CallMeta(uniqueid="offset-1", caller="+49 30 1234567", callee="200", started_at="2026-12-02T09:10:00+01:00")
    turns = talk([(0, "hello")])
    turns = [turns[0].__class__(0, 0.0, 74.2, "hello", turns[0].words)]
    return recorded_call(store, [write_wav(tmp_path / "offset.wav")], meta, turns).call_id


def test_durations_are_exact_to_the_second():
    assert (duration(74), duration(77)) == ("1:14", "1:17")
    assert duration(3725.4) == "1:02:05"
    assert duration(None) == ""


def test_iso_times_carry_the_offset_the_zone_has_on_that_day():
    assert iso("2026-12-02T08:10:00+00:00", BERLIN) == "2026-12-02T09:10:00+01:00"
    assert iso("2026-07-15T08:10:00Z", BERLIN) == "2026-07-15T10:10:00+02:00"
    assert iso("2026-12-02T08:10:00", BERLIN) == "2026-12-02T09:10:00+01:00"  # no offset: UTC
    assert iso(1796199000.0, BERLIN) == "2026-12-02T09:10:00+01:00"
    assert iso(None, BERLIN) is None and iso("soon", BERLIN) is None


def test_the_site_zone_defaults_to_the_boxs_named_zone(make_settings, monkeypatch):
    monkeypatch.setenv("TZ", "America/New_York")
    assert box_zone() == ZoneInfo("America/New_York")
    assert make_settings().zone == ZoneInfo("America/New_York")
    assert make_settings(timezone="Asia/Tokyo").zone == ZoneInfo("Asia/Tokyo")
    monkeypatch.setenv("TZ", "Nowhere/Atlantis")  # not a zone: the box's /etc/localtime then
    assert box_zone().key


@pytest.mark.parametrize("name", ["Mars/Olympus", "../../etc/passwd", "Europe/"])
def test_an_unknown_site_zone_is_refused_at_start(make_settings, name):
    with pytest.raises(ConfigError, match="'timezone'"):
        make_settings(timezone=name)


def test_pages_show_the_sites_zone_and_never_say_utc(viewer_client, offset_call):
    listed = viewer_client.get("/").get_data(as_text=True)
    assert "Dec 2, 2026, 9:10:00\u202fAM" in listed and "1:14" in listed
    page = viewer_client.get(f"/calls/{offset_call}").get_data(as_text=True)
    assert "9:10:00\u202fAM Central European Standard Time" in page
    assert "Coordinated Universal Time" not in page


def test_exports_and_the_api_write_iso_times_with_the_zones_offset(viewer_client, offset_call):
    rows = list(csv.DictReader(io.StringIO(viewer_client.get("/calls/export.csv").get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0]["started_at"] == "2026-12-02T09:10:00+01:00"
    assert json.loads(viewer_client.get("/calls/export.json").get_data())[0]["started_at"] == "2026-12-02T09:10:00+01:00"
    exported = json.loads(viewer_client.get(f"/calls/{offset_call}/export/json").get_data())
    assert exported["meta"]["started_at"] == "2026-12-02T09:10:00+01:00"
    api = viewer_client.get(f"/api/calls/{offset_call}").get_json()
    assert api["call"]["started_at"] == "2026-12-02T09:10:00+01:00"
    assert api["call"]["created_at"].endswith(("+01:00", "+02:00"))
    assert api["transcript"]["meta"]["started_at"] == "2026-12-02T09:10:00+01:00"


def test_a_users_own_zone_overrides_the_sites(viewer_client, store, offset_call):
    answer = post(viewer_client, "/account", {"action": "timezone", "timezone": "Asia/Tokyo"}, token_from="/account")
    assert answer.status_code == 302 and store.users.by_name("vic").timezone == "Asia/Tokyo"
    assert "Dec 2, 2026, 5:10:00\u202fPM" in viewer_client.get("/").get_data(as_text=True)
    assert viewer_client.get("/api/calls").get_json()["calls"][0]["started_at"] == "2026-12-02T17:10:00+09:00"
    assert post(viewer_client, "/account", {"action": "timezone", "timezone": "Mars/Olympus"},
                token_from="/account").status_code == 400
    assert post(viewer_client, "/account", {"action": "timezone", "timezone": ""}, token_from="/account").status_code == 302
    assert store.users.by_name("vic").timezone is None


def test_a_voicemail_mail_says_when_it_was_left_in_the_sites_zone(settings, store, tmp_path):
    meta = CallMeta(uniqueid="vm-1", caller="+4930555", callee="201", started_at="2026-07-15T08:10:00+00:00",
                    kind="voicemail")
    call_id = recorded_call(store, [write_wav(tmp_path / "vm.wav")], meta, talk([(0, "call me back")])).call_id
    call, transcript = store.calls.get(call_id), store.transcripts.get(call_id)
    german = compose(settings, call, transcript, "box@example.org", "de", None).get_content()
    assert "Hinterlassen am Mittwoch, 15. Juli 2026, 10:10:00 Mitteleuropäische Sommerzeit." in german
    assert "10:10:00\u202fAM Central European Summer Time" in compose(
        settings, call, transcript, "box@example.org", "en", None).get_content()


@pytest.fixture
def three_calls(store, tmp_path):
    """Ingested in an order that is not the calls' own; each a different length."""
    calls = {}
    for n, (caller, start) in enumerate([("+49 30 2", "2026-12-02T09:10:00+01:00"),
                                         ("+49 30 3", "2026-12-02T08:55:00+00:00"),
                                         ("+49 30 1", "2026-11-28T12:00:00-05:00")]):
        meta = CallMeta(uniqueid=f"order-{n}", caller=caller, callee="200", started_at=start)
        lines = [(0, "words")] * (3 - n)
        calls[caller] = recorded_call(store, [write_wav(tmp_path / f"{n}.wav")], meta, talk(lines)).call_id
    return calls


def test_the_list_is_in_call_order_and_sorts_by_duration_and_caller(store, three_calls):
    def callers(**order):
        return [call.caller for call in store.calls.page(**order)]

    # 08:55 UTC is after 09:10 at +01:00 (08:10 UTC), whatever order they arrived in.
    assert callers() == ["+49 30 3", "+49 30 2", "+49 30 1"]
    assert callers(descending=False) == ["+49 30 1", "+49 30 2", "+49 30 3"]
    assert callers(sort="duration") == ["+49 30 2", "+49 30 3", "+49 30 1"]
    assert callers(sort="caller", descending=False) == ["+49 30 1", "+49 30 2", "+49 30 3"]
    with pytest.raises(ValueError, match="sort must be one of"):
        store.calls.page(sort="secret")


def test_each_order_reads_an_index_not_every_call(store, three_calls):
    from appliance.store.calls import order_by, page_ids_query
    from appliance.store.filters import CallFilter

    for sort, index in (("start", "calls_start"), ("duration", "calls_duration"), ("caller", "calls_caller_digits")):
        sql, params = page_ids_query(CallFilter(), order=order_by(sort))
        plan = " | ".join(row[3] for row in store._db.execute("EXPLAIN QUERY PLAN " + sql,
                                                               {**params, "limit": 25, "offset": 0}))
        assert index in plan and "TEMP B-TREE" not in plan, (sort, plan)


def test_the_list_page_sorts_by_column_and_shows_the_direction(viewer_client, three_calls):
    page = viewer_client.get("/?number=4930&sort=duration&dir=asc").get_data(as_text=True)
    assert page.index("+49 30 1") < page.index("+49 30 3") < page.index("+49 30 2")
    assert '<th aria-sort="ascending"><a class="sort" href="?number=4930&amp;sort=duration&amp;dir=desc">' in page
    assert 'href="/calls/export.csv?number=4930&amp;sort=duration&amp;dir=asc"' in page
    exported = viewer_client.get("/calls/export.csv?number=4930&sort=duration&dir=asc").get_data(as_text=True)
    assert [row["caller"] for row in csv.DictReader(io.StringIO(exported.lstrip("\ufeff")))] == [
        "'+49 30 1", "'+49 30 3", "'+49 30 2"]
    assert viewer_client.get("/?sort=nonsense&dir=sideways").status_code == 200  # the default order then


@pytest.fixture
def midnight_calls(store, tmp_path):
    """Calls a minute either side of Berlin's midnights starting and ending Dec 1 (UTC+1)."""
    calls = {}
    for caller, start in (("+49 30 71", "2026-11-30T22:59:00Z"), ("+49 30 72", "2026-11-30T23:01:00Z"),
                          ("+49 30 73", "2026-12-01T22:59:00Z"), ("+49 30 74", "2026-12-01T23:01:00Z")):
        meta = CallMeta(uniqueid=f"midnight-{caller[-2:]}", caller=caller, callee="200", started_at=start)
        calls[caller] = recorded_call(store, [write_wav(tmp_path / f"{caller[-2:]}.wav")], meta,
                                      talk([(0, "midnight words")])).call_id
    return calls


def test_a_date_picked_is_a_day_of_the_users_zone_everywhere(viewer_client, midnight_calls):
    day = "from=2026-12-01&to=2026-12-01"
    listed = viewer_client.get(f"/?{day}").get_data(as_text=True)
    assert "+49 30 72" in listed and "+49 30 73" in listed
    assert "+49 30 71" not in listed and "+49 30 74" not in listed
    exported = viewer_client.get(f"/calls/export.csv?{day}").get_data(as_text=True)
    assert sorted(row["caller"] for row in csv.DictReader(io.StringIO(exported.lstrip("\ufeff")))) == [
        "'+49 30 72", "'+49 30 73"]
    assert sorted(c["caller"] for c in viewer_client.get(f"/api/calls?{day}").get_json()["calls"]) == [
        "+49 30 72", "+49 30 73"]
    found = viewer_client.get(f"/search?q=midnight&{day}").get_data(as_text=True)
    assert f"/calls/{midnight_calls['+49 30 72']}" in found and f"/calls/{midnight_calls['+49 30 73']}" in found
    assert f"/calls/{midnight_calls['+49 30 71']}" not in found and f"/calls/{midnight_calls['+49 30 74']}" not in found
    # The dashboard's bars count the same local days (each links to its day in the list).
    board = viewer_client.get("/dashboard?from=2026-11-30&to=2026-12-02").get_data(as_text=True)
    for bar, calls in (("2026-11-30", 1), ("2026-12-01", 2), ("2026-12-02", 1)):
        assert f'data-day="{bar}" data-calls="{calls}"' in board
    # Tokyo (UTC+9): the user's own zone moves the day.
    post(viewer_client, "/account", {"action": "timezone", "timezone": "Asia/Tokyo"}, token_from="/account")
    tokyo = viewer_client.get("/?from=2026-12-02&to=2026-12-02").get_data(as_text=True)
    assert "+49 30 73" in tokyo and "+49 30 74" in tokyo and "+49 30 72" not in tokyo


def test_the_audit_logs_days_are_days_of_the_users_zone(admin_client, store):
    # Berlin's Dec 1 is 23:00 UTC Nov 30 to 23:00 UTC Dec 1; Mar 29 2026 has 23 hours.
    for detail, at in (("before", "2026-11-30T22:59:00Z"), ("first", "2026-11-30T23:01:00Z"),
                       ("last", "2026-12-01T22:59:00Z"), ("after", "2026-12-01T23:01:00Z"),
                       ("spring-last", "2026-03-29T21:59:00Z"), ("spring-after", "2026-03-29T22:01:00Z")):
        store.audit.add("ada", "zone-probe", None, detail, now=moment(at).timestamp())

    def details(days):
        rows = json.loads(admin_client.get(f"/admin/audit/export.json?action=zone-probe&{days}").get_data())
        return sorted(row["detail"] for row in rows)

    assert details("from=2026-12-01&to=2026-12-01") == ["first", "last"]
    assert details("from=2026-03-29&to=2026-03-29") == ["spring-last"]
    assert details("from=2026-03-30&to=2026-03-30") == ["spring-after"]
