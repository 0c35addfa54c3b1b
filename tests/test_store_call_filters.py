"""The call list's filters on their indexes: digits columns for numbers, the day expression,
pages picked on `calls` alone, and the two ways of testing the latest job's state."""

import re

import pytest
from support.store import finished_call

from appliance.store import calls
from appliance.store.filters import CallFilter, where_clause
from appliance.transcript.model import CallMeta


def _meta(uniqueid, caller=None, callee="200", started_at=None):
    return CallMeta(uniqueid=uniqueid, caller=caller, callee=callee, started_at=started_at)


def _plan(store, sql, params):
    return " | ".join(row[3] for row in store._db.execute("EXPLAIN QUERY PLAN " + sql, params))


def _ids(summaries):
    return [call.id for call in summaries]


def test_numbers_are_kept_without_punctuation_by_every_writer(store, tmp_path):
    call = store.intake.enqueue(_meta("1.1", "+49 (30) 123-45 67"), [tmp_path / "1.raw"]).call_id
    # Known only later: a second report of the same call fills the number in.
    late = store.intake.enqueue(_meta("2.1", None, None), [tmp_path / "2.raw"]).call_id
    store.intake.enqueue(_meta("2.1", "030/98.76", "+44 20"), [tmp_path / "2.raw"])
    rows = store._db.execute(
        "SELECT id, caller_digits, callee_digits FROM calls ORDER BY id"
    ).fetchall()
    assert rows == [(call, "+49301234567", "200"), (late, "0309876", "+4420")]
    assert sorted(store._db.execute("SELECT digits, number FROM call_numbers").fetchall()) == [
        ("+4420", "+44 20"), ("+49301234567", "+49 (30) 123-45 67"), ("0309876", "030/98.76"),
        ("200", "200"),
    ]
    assert _ids(store.calls.page(number="+49 (30) 123-45")) == [call]
    assert _ids(store.calls.page(number="(030) 98-76")) == [late]
    assert store.calls.count(number="44 20") == 1


def test_the_number_filter_reads_the_digits_indexes_not_every_call(store, tmp_path):
    store.intake.enqueue(_meta("1.1", "+49 (30) 123-4567"), [tmp_path / "1.raw"])
    conditions, params = CallFilter(number="+49 (30) 123-45").where()
    assert params["number"] == "+493012345"
    plan = _plan(store, "SELECT count(*) FROM calls c" + where_clause(conditions), params)
    assert "calls_caller_digits" in plan and "calls_callee_digits" in plan
    assert "SCAN calls" not in plan and "SCAN c " not in plan + " "


def test_the_day_filter_uses_the_index_on_the_same_expression(store, tmp_path):
    store.intake.enqueue(_meta("1.1", started_at="2024-05-01T23:30:00-02:00"), [tmp_path / "1.raw"])
    conditions, params = CallFilter("2024-05-02", "2024-05-02").where()
    plan = _plan(store, "SELECT count(*) FROM calls c" + where_clause(conditions), params)
    assert "calls_day" in plan
    assert store.calls.count(date_from="2024-05-02", date_to="2024-05-02") == 1



@pytest.mark.parametrize("zone", [None, "Europe/Berlin"])
def test_the_dashboard_reads_its_range_of_calls_from_one_index_alone(store, tmp_path, zone):
    # Not through calls_kind, which matches every call, and the table: a year took seconds so.
    from zoneinfo import ZoneInfo

    store.intake.enqueue(_meta("1.1", "+49 30 1234", started_at="2024-05-01T10:00:00Z"), [tmp_path / "1.raw"])
    seen = []
    store._db.conn.set_trace_callback(seen.append)
    try:
        for chart in (store.dashboard.days, store.dashboard.extensions, store.dashboard.week_hours):
            assert chart(date_from="2024-01-01", date_to="2024-12-31", kind="call", zone=zone and ZoneInfo(zone))
    finally:
        store._db.conn.set_trace_callback(None)
    queries = [sql for sql in seen if "FROM calls c" in sql]
    assert len(queries) == 3
    for sql in queries:
        assert re.search(r"SEARCH c USING COVERING INDEX calls_kind_(day|start) ", _plan(store, sql, {}))

def test_a_start_of_now_is_dated_when_the_call_arrived(store, tmp_path):
    # date('now') is not allowed in an index: such a call must still go in, dated by arrival.
    call = store.intake.enqueue(_meta("1.1", started_at="NOW"), [tmp_path / "1.raw"]).call_id
    day = store._db.execute("SELECT date(created_at, 'unixepoch') FROM calls").fetchone()[0]
    assert _ids(store.calls.page(date_from=day, date_to=day)) == [call]


def test_count_calls_joins_jobs_only_for_a_state_and_transcripts_never(store):
    for where in (CallFilter(), CallFilter("2024-05-01", "2024-05-31", "123", kind="call")):
        conditions, params = where.where()
        plan = _plan(store, "SELECT count(*) FROM calls c" + where_clause(conditions), params)
        assert "jobs" not in plan and "transcripts" not in plan
    conditions, params = CallFilter(state="done").where()
    assert "transcripts" not in _plan(store, "SELECT count(*) FROM calls c" + where_clause(conditions), params)


def test_pages_are_slices_of_the_whole_list(store, tmp_path):
    for n in range(23):
        store.intake.enqueue(_meta(f"{n}.1", f"+49 30 {n % 3}00"), [tmp_path / f"{n}.raw"])
    everything = _ids(store.calls.page(limit=100))
    assert everything == sorted(everything, reverse=True) and len(everything) == 23
    assert sum((_ids(store.calls.page(5, offset)) for offset in range(0, 25, 5)), []) == everything
    numbered = _ids(store.calls.page(limit=100, number="30 1"))
    assert sum((_ids(store.calls.page(3, offset, number="30 1")) for offset in range(0, 9, 3)), []) == numbered
    assert len(numbered) == store.calls.count(number="30 1") == 8


@pytest.mark.parametrize("rare_below", [0, 10_000])  # the state tested per call, or as a set
def test_both_ways_of_testing_the_state_agree(store, tmp_path, monkeypatch, rare_below):
    monkeypatch.setattr(calls, "_RARE_STATE", rare_below)
    done = [finished_call(store, tmp_path, _meta(f"{n}.1"), [(0, "Hallo")]).call_id for n in range(3)]
    queued = store.intake.enqueue(_meta("9.1"), [tmp_path / "9.raw"]).call_id
    # A call whose newer recording still waits: its latest job is queued, not done.
    store.intake.enqueue(_meta("0.1"), [tmp_path / "0-again.raw"])
    assert _ids(store.calls.page(state="done")) == done[:0:-1]
    assert _ids(store.calls.page(state="queued")) == [queued, done[0]]
    assert store.calls.count(state="done") == 2 and store.calls.count(state="queued") == 2
    assert _ids(store.calls.page(1, 1, state="queued")) == [done[0]]


# Calls just either side of Berlin's midnights: a winter day (UTC+1) and the day the clocks go
# forward (2026-03-29, 23 hours long: 23:00 UTC the night before to 22:00 UTC).
BERLIN_STARTS = {
    "winter-before": "2026-11-30T22:59:00Z",  # Nov 30, 23:59 in Berlin
    "winter-first": "2026-11-30T23:00:00Z",  # Dec 1, 00:00
    "winter-last": "2026-12-01T22:59:59Z",  # Dec 1, 23:59:59
    "winter-after": "2026-12-01T23:00:00+00:00",  # Dec 2, 00:00
    "spring-first": "2026-03-29T00:00:00+01:00",
    "spring-last": "2026-03-29T23:59:00+02:00",
    "spring-after": "2026-03-29T22:00:00Z",  # Mar 30, 00:00 summer time
}


@pytest.fixture
def berlin_calls(store, tmp_path):
    return {name: store.intake.enqueue(_meta(name, started_at=start), [tmp_path / f"{name}.raw"]).call_id
            for name, start in BERLIN_STARTS.items()}


def test_the_day_filter_takes_days_of_the_users_zone(store, berlin_calls):
    from zoneinfo import ZoneInfo

    berlin = ZoneInfo("Europe/Berlin")

    def names(**filters):
        ids = _ids(store.calls.page(zone=berlin, **filters))
        assert store.calls.count(zone=berlin, **filters) == len(ids)
        return sorted(name for name, call in berlin_calls.items() if call in ids)

    assert names(date_from="2026-12-01", date_to="2026-12-01") == ["winter-first", "winter-last"]
    assert names(date_from="2026-12-02") == ["winter-after"]
    assert names(date_from="2026-11-01", date_to="2026-11-30") == ["winter-before"]
    assert names(date_from="2026-03-29", date_to="2026-03-29") == ["spring-first", "spring-last"]
    assert names(date_from="2026-03-30", date_to="2026-03-30") == ["spring-after"]
    # Without a zone the days stay UTC days.
    utc = _ids(store.calls.page(date_from="2026-12-01", date_to="2026-12-01"))
    assert sorted(utc) == sorted(berlin_calls[n] for n in ("winter-last", "winter-after"))


def test_the_dashboard_counts_calls_on_the_users_days(store, berlin_calls):
    from zoneinfo import ZoneInfo

    days = store.dashboard.days(date_from="2026-03-28", date_to="2026-12-02", zone=ZoneInfo("Europe/Berlin"))
    assert {d.day: d.calls for d in days} == {"2026-11-30": 1, "2026-12-01": 2, "2026-12-02": 1,
                                             "2026-03-29": 2, "2026-03-30": 1}
    conditions, params = CallFilter("2026-12-01", "2026-12-01", zone=ZoneInfo("Europe/Berlin")).where()
    assert "USING INDEX calls_start" in _plan(store, "SELECT count(*) FROM calls c" + where_clause(conditions), params)
