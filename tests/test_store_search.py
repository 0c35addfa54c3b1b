import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appliance.errors import BadQuery
from appliance.store.query import parse_query
from appliance.transcript.model import CallMeta, Speaker, Transcript, Turn

LINES = [
    "Guten Tag, hier spricht Frau Müller von der Stadtwerke GmbH.",
    "Es geht um die Rechnung vom März, die ist leider doppelt gekommen.",
    "Don't worry, we'll send a credit note for the invoice today.",
]


@pytest.fixture
def calls(store, tmp_path):
    """Two finished calls: one with a German/English conversation, one short."""
    ids = []
    conversations = [("+49 30 1234567", LINES), ("+44 20 7946", ["Hello there."])]
    for n, (caller, lines) in enumerate(conversations):
        meta = CallMeta(uniqueid=f"{n}.1", caller=caller, callee="200")
        store.intake.enqueue(meta, [tmp_path / f"{n}.raw"])
        job = store.jobs.claim("w", 60)
        turns = tuple(Turn(i % 2, i * 2.0, i * 2.0 + 1.5, text) for i, text in enumerate(lines))
        speakers = (Speaker(0, "Caller", "caller"), Speaker(1, "Agent", "callee"))
        store.jobs.finish(job.id, "w", Transcript("de", "fw", "base", 9.0, speakers, turns, meta))
        ids.append(job.call_id)
    return ids


def test_a_word_is_found_with_its_match_bracketed_in_the_snippet(store, calls):
    [hit] = store.search.hits("rechnung")
    assert (hit.call_id, hit.turn_index, hit.speaker, hit.start) == (calls[0], 1, "Agent", 2.0)
    assert "[Rechnung]" in hit.marked("[", "]")
    assert hit.caller == "+49 30 1234567"


def test_accents_do_not_matter(store, calls):
    assert [hit.turn_index for hit in store.search.hits("muller")] == [0]
    assert [hit.turn_index for hit in store.search.hits("marz")] == [1]


def test_a_quoted_phrase_must_appear_in_order(store, calls):
    assert [hit.turn_index for hit in store.search.hits('"credit note"')] == [2]
    assert store.search.hits('"note credit"') == []


def test_a_trailing_star_searches_a_prefix(store, calls):
    [hit] = store.search.hits("stadtw*")
    assert "[Stadtwerke]" in hit.marked("[", "]")
    assert store.search.hits("stadtw") == []


def test_operators_combine_terms(store, calls):
    assert {hit.turn_index for hit in store.search.hits("rechnung OR invoice")} == {1, 2}
    assert store.search.hits("rechnung AND invoice") == []
    assert [hit.call_id for hit in store.search.hits("hello NOT invoice")] == [calls[1]]


def test_a_phone_number_finds_the_call_in_any_spelling(store, calls):
    for query in ("1234567", "+49 30-1234567", "30/1234567", "(30) 1234*"):
        hits = store.search.hits(query)
        assert hits and {hit.call_id for hit in hits} == {calls[0]}, query


def test_an_apostrophe_and_stray_punctuation_do_not_break_search(store, calls):
    assert [hit.turn_index for hit in store.search.hits("don't")] == [2]
    for query in ("rechnung:", "^rechnung", "{rechnung}", "rechnung;--"):
        assert [hit.turn_index for hit in store.search.hits(query)] == [1], query
    # FTS5 syntax is plain text to us: these look for the phrases "near rechnung", "text rechnung".
    assert store.search.hits("NEAR(rechnung)") == store.search.hits("text:rechnung") == []


@pytest.mark.parametrize(
    "query, fix",
    [
        ('"credit note', "unbalanced quote"),
        ("", "Nothing to search"),
        ("   !!! ", "Nothing to search"),
        ("AND", "AND needs a search word"),
        ("invoice OR", "OR needs a search word"),
        ("NOT invoice", "NOT needs a search word"),
        ("a AND OR b", "OR needs a search word"),
    ],
)
def test_bad_queries_say_what_to_fix(store, query, fix):
    with pytest.raises(BadQuery, match=fix):
        store.search.hits(query)


def test_parser_quotes_every_word_and_keeps_operators():
    assert parse_query('+49 30-1234* "Frau Müller" OR don\'t and') == (
        '"49" "30 1234"* "Frau Müller" OR "don t" "and"'
    )


# The store fixture is shared by all examples on purpose: searching changes nothing.
@settings(
    suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None, max_examples=300
)
@given(query=st.text())
def test_any_text_either_searches_or_raises_bad_query(store, calls, query):
    try:
        store.search.hits(query)
    except BadQuery:
        pass
