import pytest
from support.store import finished_call

from appliance.errors import BadQuery
from appliance.transcript.model import CallMeta, Speaker


@pytest.fixture
def calls(store, tmp_path):
    """Three finished calls that all speak of the "Rechnung", on different days and numbers."""
    specs = [
        ("+49 (30) 123-4567", "2024-05-01T09:00:00+00:00", "call",
         [(0, "Meine Rechnung ist falsch."), (1, "Die Rechnung prüfe ich.")]),
        ("030/9876543", "2024-05-02T09:00:00+00:00", "voicemail",
         [(0, "Bitte rufen Sie wegen der Rechnung zurück.")]),
        ("+44 20 7946", "2024-05-03T23:30:00-02:00", "call",  # 2024-05-04 UTC
         [(1, "Rechnung Rechnung Rechnung"), (0, "Danke.")]),
    ]
    return [
        finished_call(
            store, tmp_path, CallMeta(uniqueid=f"{n}.1", caller=caller, callee="200",
                                      started_at=start, kind=kind), lines
        ).call_id
        for n, (caller, start, kind, lines) in enumerate(specs)
    ]


def _hits(hits):
    return [(hit.call_id, hit.turn_index) for hit in hits]


def test_hits_carry_the_speakers_role_and_the_calls_kind(store, calls):
    hits = store.search.hits("rechnung")
    assert {(hit.call_id, hit.turn_index, hit.role, hit.kind) for hit in hits} == {
        (calls[0], 0, "caller", "call"),
        (calls[0], 1, "callee", "call"),
        (calls[1], 0, "caller", "voicemail"),
        (calls[2], 0, "callee", "call"),
    }
    # bm25 still decides: the turn that says it three times comes first.
    assert _hits(hits)[0] == (calls[2], 0)
    assert [hit.rank for hit in hits] == sorted(hit.rank for hit in hits)


def test_role_keeps_only_turns_of_that_side(store, calls):
    assert {hit.role for hit in store.search.hits("rechnung", role="callee")} == {"callee"}
    assert set(_hits(store.search.hits("rechnung", role="caller"))) == {(calls[0], 0), (calls[1], 0)}
    assert store.search.hits("rechnung", role="speaker") == []
    assert store.search.count("rechnung", role="callee") == 2
    with pytest.raises(ValueError, match="role must be one of"):
        store.search.hits("rechnung", role="agent")


def test_a_turn_of_a_speaker_without_a_label_counts_as_a_plain_speaker(store, tmp_path):
    meta = CallMeta(uniqueid="9.1")
    finished_call(store, tmp_path, meta, [(0, "Eins"), (3, "Zwei")], (Speaker(0, "A", "caller"),))
    [hit] = store.search.hits("zwei", role="speaker")
    assert (hit.turn_index, hit.role) == (1, "speaker")


def test_number_and_dates_filter_hits_as_in_the_call_list(store, calls):
    assert {hit.call_id for hit in store.search.hits("rechnung", number="(30) 1234")} == {calls[0]}
    assert {hit.call_id for hit in store.search.hits("rechnung", number="030-98")} == {calls[1]}
    assert store.search.count("rechnung", number="200") == 4
    assert {hit.call_id for hit in store.search.hits("rechnung", date_from="2024-05-02")} == {
        calls[1], calls[2],
    }
    assert store.search.count("rechnung", date_from="2024-05-02", date_to="2024-05-03") == 1
    assert store.search.count("rechnung", date_from="2024-05-04", date_to="2024-05-04") == 1
    assert store.search.hits("rechnung", date_to="2024-04-30") == []


def test_offset_pages_through_the_same_ranking(store, calls):
    everything = _hits(store.search.hits("rechnung"))
    assert store.search.count("rechnung") == len(everything) == 4
    pages = [_hits(store.search.hits("rechnung", limit=2, offset=offset)) for offset in (0, 2, 4)]
    assert pages == [everything[:2], everything[2:], []]


def test_count_search_raises_bad_query_like_search(store, calls):
    with pytest.raises(BadQuery):
        store.search.count('"unbalanced')
    with pytest.raises(BadQuery):
        store.search.hits("OR", role="caller")
