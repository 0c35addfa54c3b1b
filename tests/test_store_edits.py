"""Transcript edits in the store: the corrected text is what reads, search and insights see;
the original stays, every edit is a revision, and only those allowed may edit."""

from __future__ import annotations

import pytest

from appliance.errors import NotAllowed, NotFound
from appliance.store.scopes import Scope
from appliance.transcript.model import CallMeta, Turn
from support.web import recorded_call, talk, words_of, write_wav


@pytest.fixture
def call_id(store, tmp_path):
    return recorded_call(store, [write_wav(tmp_path / "a.wav", 6.0)], CallMeta(uniqueid="e1", caller="201", callee="+4930999"),
                         talk([(0, "my parcel is late again"), (1, "which parcel number please"), (0, "seven four two")])).call_id


def texts(store, call_id):
    return [(turn.speaker, turn.text) for turn in store.transcripts.get(call_id).turns]


def found(store, query):
    return [(hit.call_id, hit.turn_index) for hit in store.search.hits(query)]


def test_a_fixed_word_reads_and_searches_as_corrected_and_the_original_stays(store, call_id):
    revision = store.edits.edit(call_id, "vic", "word", 0, word=1, text="pizza", now=100.0)
    assert texts(store, call_id)[0] == (0, "my pizza is late again")
    word = store.transcripts.get(call_id).turns[0].words[1]
    assert word.word == " pizza" and word.probability == 1.0  # spacing kept, a person heard it
    assert found(store, "pizza") == [(call_id, 0)]
    assert found(store, "parcel") == [(call_id, 1)]
    assert (revision.actor, revision.action, revision.turn, revision.before, revision.after) == \
        ("vic", "word", 0, "parcel", "pizza")
    assert store.edits.revisions(call_id) == [revision]
    assert store.edits.original_turns(call_id)[0].text == "my parcel is late again"


def test_a_turn_given_to_the_other_speaker_is_searched_under_that_speaker(store, call_id):
    store.edits.edit(call_id, "vic", "speaker", 2, speaker=1)
    assert texts(store, call_id)[2] == (1, "seven four two")
    assert [hit.role for hit in store.search.hits("seven")] == ["callee"]
    assert [hit.speaker for hit in store.search.hits("seven")] == ["Agent"]


def test_split_and_merge_keep_the_turns_in_order_and_searchable(store, call_id):
    store.edits.edit(call_id, "vic", "split", 1, word=2)
    assert texts(store, call_id) == [(0, "my parcel is late again"), (1, "which parcel"), (1, "number please"),
                                     (0, "seven four two")]
    turns = store.transcripts.get(call_id).turns
    assert turns[1].end == turns[1].words[-1].end and turns[2].start == turns[2].words[0].start
    assert found(store, "number") == [(call_id, 2)]
    assert found(store, "seven") == [(call_id, 3)]

    store.edits.edit(call_id, "vic", "merge", 0)
    assert texts(store, call_id) == [(0, "my parcel is late again which parcel"), (1, "number please"),
                                     (0, "seven four two")]
    assert found(store, "seven") == [(call_id, 2)]
    assert sorted(found(store, "parcel")) == [(call_id, 0)]
    assert store._db.execute("SELECT turn_count FROM calls WHERE id = ?", [call_id]).fetchone()[0] == 3
    assert [r.action for r in store.edits.revisions(call_id)] == ["merge", "split"]
    assert len(store.edits.original_turns(call_id)) == 3  # the first edit's snapshot, not the second's


def test_an_edit_drops_the_insights_so_the_nlp_stage_makes_them_again(store, call_id):
    transcript_id = dict(store.insights.needing())[call_id]
    store.insights.save(call_id, transcript_id, {"keywords": ["parcel"], "summary": []})
    assert store.insights.needing() == []
    store.edits.edit(call_id, "vic", "word", 0, word=1, text="pizza")
    assert store.insights.needing() == [(call_id, transcript_id)]
    assert store.insights.of_calls([call_id]) == {}


@pytest.mark.parametrize("edit", [
    dict(action="word", turn=0, word=9, text="x"),
    dict(action="word", turn=0, word=0, text="   "),
    dict(action="word", turn=0, word=0, text="x" * 81),
    dict(action="word", turn=7, word=0, text="x"),
    dict(action="speaker", turn=0, speaker=5),
    dict(action="split", turn=0, word=0),
    dict(action="split", turn=0, word=5),
    dict(action="merge", turn=2),
    dict(action="rewrite", turn=0),
])
def test_edits_that_make_no_sense_are_refused_and_change_nothing(store, call_id, edit):
    before = texts(store, call_id)
    with pytest.raises(ValueError):
        store.edits.edit(call_id, "vic", edit.pop("action"), edit.pop("turn"), **edit)
    assert texts(store, call_id) == before
    assert store.edits.revisions(call_id) == [] and store.edits.original_turns(call_id) is None


def test_only_users_who_may_edit_their_calls_can_edit(store, call_id, tmp_path):
    reader = store.scoped(Scope(everything=True, may_edit=False))
    with pytest.raises(NotAllowed):
        reader.edits.edit(call_id, "viewer", "word", 0, word=0, text="x")
    outsider = store.scoped(Scope(extensions=frozenset({"555"}), may_edit=True))
    with pytest.raises(NotFound):
        outsider.edits.edit(call_id, "agent", "word", 0, word=0, text="x")
    assert outsider.edits.revisions(call_id) == [] and outsider.edits.original_turns(call_id) is None
    assert store.edits.revisions(call_id) == []


def test_revisions_and_the_original_go_with_the_call(store, call_id):
    store.edits.edit(call_id, "vic", "word", 0, word=1, text="pizza")
    store.calls.delete(call_id)
    assert store._db.execute("SELECT count(*) FROM transcript_revisions").fetchone()[0] == 0
    assert store._db.execute("SELECT count(*) FROM transcript_originals").fetchone()[0] == 0


def test_a_turn_without_words_cannot_be_split(store, tmp_path):
    call = recorded_call(store, [write_wav(tmp_path / "b.wav")], CallMeta(uniqueid="e2"),
                         [Turn(0, 0.0, 1.0, "hello", ()), Turn(1, 1.0, 2.0, "hi", words_of("hi", 1.0, 2.0))])
    with pytest.raises(ValueError):
        store.edits.edit(call.call_id, "vic", "split", 0, word=1)
    store.edits.edit(call.call_id, "vic", "merge", 0)
    assert texts(store, call.call_id) == [(0, "hello hi")]


def test_every_edit_drops_the_metrics_for_the_analytics_stage(store, call_id):
    transcript_id = dict(store.metrics.needing())[call_id]
    for action, changes in (("word", {"word": 1, "text": "pizza?"}), ("speaker", {"speaker": 1})):
        store.metrics.save(call_id, transcript_id, {"speakers": {}})
        assert store.metrics.needing() == []
        # A fixed word changes the word count and the questions; a moved turn who spoke when.
        store.edits.edit(call_id, "vic", action, 0, **changes)
        assert store.metrics.needing() == [(call_id, transcript_id)], action
