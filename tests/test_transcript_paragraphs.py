"""A long turn reads in paragraphs on the call page (a voicemail is often one turn): a break
after a sentence and a pause, after a few sentences, or at a long pause without punctuation."""

import re

from appliance.transcript.model import CallMeta, Speaker, Turn, Word
from appliance.transcript.paragraphs import paragraphs
from support.web import recorded_call, write_wav


def _words(*timed: tuple[str, float]) -> list[Word]:
    """Words at the given starts, each 0.3 s long."""
    return [Word(start, start + 0.3, f" {text}", 0.9) for text, start in timed]


def _texts(words) -> list[str]:
    return ["".join(words[n].word for n in paragraph).strip() for paragraph in paragraphs(words)]


def test_a_sentence_followed_by_a_pause_ends_a_paragraph():
    words = _words(("Hello,", 0), ("it's", 0.4), ("Anna.", 0.8), ("Call", 2.0), ("me", 2.4), ("back.", 2.8))
    assert _texts(words) == ["Hello, it's Anna.", "Call me back."]


def test_a_run_of_sentences_without_pauses_is_cut_after_three():
    words = _words(*((f"One{n}.", n * 0.4) for n in range(7)))
    assert _texts(words) == ["One0. One1. One2.", "One3. One4. One5.", "One6."]


def test_without_punctuation_only_a_long_pause_breaks():
    words = _words(("so", 0), ("then", 0.4), ("we", 1.5), ("go", 4.0))
    assert _texts(words) == ["so then we", "go"]
    assert paragraphs([]) == [] and _texts(_words(("hi", 0))) == ["hi"]


def test_the_voicemail_page_shows_its_paragraphs_and_keeps_each_words_place(viewer_client, store, tmp_path):
    words = _words(("Hello,", 0), ("this", 0.4), ("is", 0.8), ("Anna.", 1.2), ("Please", 3.0), ("call", 3.4),
                   ("back.", 3.8))
    turn = Turn(0, 0.0, 4.1, "".join(w.word for w in words).strip(), tuple(words))
    meta = CallMeta(uniqueid="vm-paragraphs", caller="+49 30 5", callee="201", kind="voicemail")
    call = recorded_call(store, [write_wav(tmp_path / "vm.wav", 5.0)], meta, [turn], (Speaker(0, "Caller", "caller"),))
    page = viewer_client.get(f"/calls/{call.call_id}").get_data(as_text=True)
    turn_html = page[page.index('id="t0"'):page.index("</div>", page.index('id="t0"'))]
    shown = [re.sub(r"<[^>]+>", "", p).strip() for p in re.findall(r"<p>(.*?)</p>", turn_html, re.S)]
    assert shown == ["Hello, this is Anna.", "Please call back."]
    # The words keep their places in the turn, which the editor and the player address.
    assert 'data-word="4" data-seek="3.0"' in turn_html
