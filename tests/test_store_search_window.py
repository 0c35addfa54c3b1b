"""Search at scale: bm25 over the newest hits only, capped counts, the index of the newest turns
(and the full index behind it), and filters that must stay exact on every path."""

import re

import pytest
from support.store import finished_call

from appliance.store import SEARCH_COUNT_CAP, Store, fts, search, search_count_is_capped
from appliance.transcript.model import CallMeta

# (caller, started_at, [(speaker, text), ...]); speaker 0 is the caller, 1 the callee ("200").
CALLS = [
    ("+49 (30) 123-4567", "2024-05-01T09:00:00+00:00", [(0, "Die Rechnung ist falsch."), (1, "Rechnung?")]),
    ("030/9876543", "2024-05-01T10:00:00+00:00", [(1, "Ihre Rechnung kommt morgen."), (0, "Gut.")]),
    # Not the number "49 30 123..." for the filter (a comma is not punctuation to it), but the
    # same words for FTS5: only a check against the stored number keeps it out.
    ("49,30,123,4567", "2024-05-02T09:00:00+00:00", [(0, "Rechnung und Mahnung"), (1, "Die Rechnung.")]),
    ("+4930111222", "2024-05-02T23:30:00-02:00", [(0, "Eine Rechnung bitte."), (1, "Sofort.")]),  # 05-03 UTC
    ("+4930111222", "2024-05-04T09:00:00+00:00", [(1, "Rechnung Rechnung Rechnung"), (0, "Danke")]),
    (None, None, [(0, "Rechnung ohne Nummer"), (1, "Rechnung")]),
    ("+44 20 7946", "2024-05-05T09:00:00+00:00", [(0, "Keine Rechnung heute"), (1, "Schade")]),
]


def _add_calls(store, tmp_path, specs, first=0):
    ids = []
    for n, (caller, start, lines) in enumerate(specs, start=first):
        meta = CallMeta(uniqueid=f"{n}.1", caller=caller, callee="200", started_at=start)
        ids.append(finished_call(store, tmp_path, meta, lines).call_id)
    return ids


def _expected(ids, *, role=None, days=None, number=None, word="rechnung"):
    """The (call id, turn index) pairs a filtered search for `word` must find, from CALLS."""
    found = set()
    for call_id, (caller, start, lines) in zip(ids, CALLS):
        digits = re.sub(r"[ \-()/.]", "", caller or ""), "200"
        if number is not None and not any(number in d for d in digits):
            continue
        if days is not None and (start is None or _utc_day(start) not in days):
            continue
        for index, (speaker, text) in enumerate(lines):
            if word in text.lower() and role in (None, ("caller", "callee")[speaker]):
                found.add((call_id, index))
    return found


def _utc_day(start):
    from datetime import datetime, timezone

    return datetime.fromisoformat(start).astimezone(timezone.utc).date().isoformat()


def _pairs(hits):
    return [(hit.call_id, hit.turn_index) for hit in hits]


# Each test runs with the index of the newest turns holding everything (a small store), and
# holding only the newest three turns, so most hits come from the full index behind it.
@pytest.fixture(params=[1_000_000, 3], ids=["recent-holds-all", "recent-holds-3"])
def recent_turns(request, monkeypatch):
    monkeypatch.setattr(fts, "RECENT_TURNS", request.param)
    return request.param


@pytest.fixture
def calls(store, tmp_path, recent_turns):
    return _add_calls(store, tmp_path, CALLS)


def test_turns_recent_keeps_only_the_newest_turn_ids(store, calls, recent_turns):
    rows = [row[0] for row in store._db.execute("SELECT rowid FROM turns_recent ORDER BY rowid")]
    newest = [row[0] for row in store._db.execute("SELECT id FROM turns ORDER BY id")]
    assert rows == newest[-recent_turns:]
    state = fts.recent_state(store._db)
    assert state.usable and state.complete == (recent_turns > len(newest))


@pytest.mark.parametrize(
    "filters, expected",
    [
        ({}, {}),
        ({"role": "caller"}, {"role": "caller"}),
        ({"role": "callee"}, {"role": "callee"}),
        ({"number": "+49 (30) 123-45"}, {"number": "+493012345"}),
        ({"number": "4930111"}, {"number": "4930111"}),
        ({"number": "20"}, {"number": "20"}),  # the callee 200 of every call
        ({"date_from": "2024-05-02", "date_to": "2024-05-03"}, {"days": {"2024-05-02", "2024-05-03"}}),
        ({"date_from": "2024-05-03", "role": "callee", "number": "30111"},
         {"days": {"2024-05-03", "2024-05-04", "2024-05-05"}, "role": "callee", "number": "30111"}),
    ],
)
@pytest.mark.parametrize("window", [search.WINDOW, 2])
def test_filters_find_exactly_the_matching_turns_on_every_path(
    store, calls, monkeypatch, filters, expected, window
):
    monkeypatch.setattr(search, "WINDOW", window)
    hits = store.search.hits("rechnung", limit=100, **filters)
    assert set(_pairs(hits)) == _expected(calls, **expected)
    assert len(hits) == len(set(_pairs(hits))) == store.search.count("rechnung", **filters)
    pages = [_pairs(store.search.hits("rechnung", limit=3, offset=o, **filters)) for o in range(0, 12, 3)]
    assert sum(pages, []) == _pairs(hits)


def test_the_newest_hits_are_ranked_by_bm25_and_older_ones_follow_newest_first(
    store, tmp_path, monkeypatch, recent_turns
):
    # One turn per call; the fewer words beside "rechnung", the better its bm25.
    fillers = [0, 5, 1, 4, 2, 3, 6, 7]
    ids = _add_calls(
        store, tmp_path,
        [(None, None, [(0, " ".join(["Rechnung"] + ["wort"] * k))]) for k in fillers],
    )
    monkeypatch.setattr(search, "WINDOW", 3)
    hits = store.search.hits("rechnung", limit=20)
    # The newest three (fillers 3, 6, 7) best first, then the others from the newest.
    assert [hit.call_id for hit in hits] == [ids[5], ids[6], ids[7], ids[4], ids[3], ids[2], ids[1], ids[0]]
    assert [hit.rank for hit in hits[:3]] == sorted(hit.rank for hit in hits[:3])
    assert all("\ue000Rechnung\ue001" in hit.snippet for hit in hits)
    pages = [store.search.hits("rechnung", limit=2, offset=offset) for offset in (0, 2, 4, 6, 8)]
    assert [hit.call_id for page in pages for hit in page] == [hit.call_id for hit in hits]
    monkeypatch.setattr(search, "WINDOW", 100)  # all eight in the window: plain bm25
    assert [hit.call_id for hit in store.search.hits("rechnung")] == [ids[n] for n in (0, 2, 4, 5, 3, 1, 6, 7)]


def test_equal_ranks_list_the_newest_call_first_then_the_turns_in_order(store, tmp_path, recent_turns):
    lines = [(0, "Rechnung eins"), (1, "Rechnung zwei"), (0, "Rechnung drei")]
    ids = _add_calls(store, tmp_path, [(None, None, lines), (None, None, lines)])
    everything = _pairs(store.search.hits("rechnung"))
    assert everything == [(ids[1], 0), (ids[1], 1), (ids[1], 2), (ids[0], 0), (ids[0], 1), (ids[0], 2)]
    pages = [_pairs(store.search.hits("rechnung", limit=4, offset=offset)) for offset in (0, 4)]
    assert pages == [everything[:4], everything[4:]]


def test_count_search_stops_at_the_cap_and_says_so(store, calls, monkeypatch):
    total = len(_expected(calls))
    assert store.search.count("rechnung") == total and not search_count_is_capped(total)
    monkeypatch.setattr(search, "SEARCH_COUNT_CAP", 4)
    count = store.search.count("rechnung")
    assert count == 5 and search_count_is_capped(count) and Store.search.count_is_capped(count)
    assert not search_count_is_capped(store.search.count("rechnung", number="030/98"))
    assert store.search.count("rechnung", number="030/98") == 1
    # search() still pages through every hit.
    assert len(store.search.hits("rechnung", limit=100)) == total
    assert SEARCH_COUNT_CAP == 10_000


def test_a_number_learnt_after_the_transcript_is_searchable_and_filters(store, tmp_path, recent_turns):
    meta = CallMeta(uniqueid="late.1")
    call_id = finished_call(store, tmp_path, meta, [(0, "Rechnung bitte")]).call_id
    assert store.search.hits("rechnung", number="7654321") == []
    store.intake.enqueue(CallMeta(uniqueid="late.1", caller="+49 30 7654321"), [tmp_path / "late-2.raw"])
    assert [hit.call_id for hit in store.search.hits("7654321")] == [call_id]
    assert [hit.call_id for hit in store.search.hits("rechnung", number="30 765")] == [call_id]
    assert store.search.hits("rechnung", number="30 765")[0].caller == "+49 30 7654321"


def test_a_day_range_whose_turn_ids_hold_another_calls_turns_is_still_exact(store, tmp_path, recent_turns):
    early, late = _add_calls(store, tmp_path, [
        ("111", "2024-06-01T10:00:00Z", [(0, "Rechnung eins")]),
        ("222", "2024-06-02T10:00:00Z", [(0, "Rechnung zwei")]),
    ])
    # A second recording of the first call, transcribed after the second call: its turn ids now
    # span the second call's turns.
    meta = CallMeta(uniqueid="0.1", caller="111", callee="200", started_at="2024-06-01T10:00:00Z")
    store.intake.enqueue(meta, [tmp_path / "again.raw"])
    job = store.jobs.claim("w", 60)
    from appliance.transcript.model import Speaker, Transcript, Turn

    speakers = (Speaker(0, "Caller", "caller"),)
    transcript = Transcript("de", "fw", "base", 2.0, speakers, (Turn(0, 0.0, 1.0, "Rechnung drei"),), meta)
    assert store.jobs.finish(job.id, "w", transcript)

    june_1 = {"date_from": "2024-06-01", "date_to": "2024-06-01"}
    assert {hit.call_id for hit in store.search.hits("rechnung", **june_1)} == {early}
    assert store.search.count("rechnung", **june_1) == 2  # both transcripts of the first call
    assert {hit.call_id for hit in store.search.hits("rechnung", date_from="2024-06-02")} == {late}


def test_search_falls_back_to_the_full_index_if_the_recent_one_fell_behind(store, calls):
    before = _pairs(store.search.hits("rechnung", limit=100))
    # A writer that bypassed appliance.store.fts left turns_recent behind.
    store._db.execute("DELETE FROM turns_recent WHERE rowid = (SELECT max(id) FROM turns)")
    assert not fts.recent_state(store._db).usable
    assert _pairs(store.search.hits("rechnung", limit=100)) == before
    assert store.search.count("rechnung", role="callee") == len(_expected(calls, role="callee"))


def test_deleting_a_call_removes_it_from_both_indexes(store, calls):
    store.calls.delete(calls[0])
    for table in (fts.MAIN, fts.RECENT):
        rows = store._db.execute(f"SELECT count(*) FROM {table} WHERE caller = '+49 (30) 123-4567'")
        assert rows.fetchone()[0] == 0
    assert calls[0] not in {hit.call_id for hit in store.search.hits("rechnung", limit=100)}
