"""Insights on real transcripts of real speech: the demo call (two real voices) through the
real model, and a spoken card number through the real worker with redaction on."""

import json
import re
import sqlite3
import subprocess

import pytest

from appliance import democall
from appliance.jobs.worker import Worker
from appliance.nlp.numbers import digit_runs
from appliance.nlp.stage import analyse
from appliance.nlp.summary import sentences
from appliance.pipeline import transcribe_recording
from appliance.transcript.model import CallMeta

pytestmark = pytest.mark.model
META = CallMeta(uniqueid="1700000000.9", caller="+49301234567", callee="200", direction="inbound")


@pytest.fixture(scope="module")
def demo_transcript(tmp_path_factory, engine):
    """Transcribed once for the module: the model run is the expensive part."""
    from conftest import MODELS_DIR, NO_CONFIG
    from appliance.config import load_settings

    settings = load_settings(NO_CONFIG, environ={}, data_dir=MODELS_DIR.parent, models_dir=MODELS_DIR)
    path = democall.write_stereo_wav(democall.mix_call(), tmp_path_factory.mktemp("demo") / "call.wav")
    return transcribe_recording([path], META, settings, engine)


def test_keywords_name_the_calls_topic(demo_transcript, settings):
    keywords = " ".join(analyse(demo_transcript, settings).keywords).lower()
    # The callee's side is about the phone system and the call; the caller's about Mr Dashwood.
    assert "phone" in keywords and "call" in keywords, keywords
    assert "dashwood" in keywords or "young man" in keywords, keywords


def test_summary_is_a_subset_of_the_calls_sentences_covering_both_speakers(demo_transcript, settings):
    insights = analyse(demo_transcript, settings)
    said = [(s.speaker, s.text) for s in sentences(demo_transcript)]
    assert insights.summary
    assert all((line.speaker, line.text) in said for line in insights.summary)
    assert {line.speaker for line in insights.summary} == {0, 1}
    assert len(insights.summary) < len(said)
    assert [line.label for line in insights.summary if line.speaker == 1][0] == "200"


def _strings(value):
    """Every string inside decoded JSON."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def test_a_spoken_card_number_is_masked_before_anything_is_stored(tmp_path, make_settings, store, engine):
    path = tmp_path / "card.wav"
    # 4024 0071 2345 6781 (Luhn-valid), read digit by digit as a caller would. Whisper base
    # hears long runs of one digit wrongly ("1111" becomes five ones), which fails the checksum.
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "120", "-w", str(path),
                    "Hello. My card number is 4 0 2 4, 0 0 7 1, 2 3 4 5, 6 7 8 1. Please charge it today."],
                   check=True)
    settings = make_settings(redact_pii=True)
    store.intake.enqueue(CallMeta(uniqueid="card.1", caller="100", callee="200"), [path], {})
    assert Worker(settings, store, engine).run_once()

    [call] = store.calls.page()
    transcript = store.transcripts.get(call.id)
    # Recognition differs between CPUs ("4" may come out as "for"): what must hold is that the
    # number is masked and none of its digits is left in the turns, their words, both search
    # indexes or the insights.
    assert call.state == "done" and re.search(r"\[(card|iban|phone)\]", transcript.text), transcript.text
    conn = sqlite3.connect(store.path)
    stored = [r[0] for q in ("SELECT text FROM turns", "SELECT text FROM turns_fts", "SELECT text FROM turns_recent")
              for r in conn.execute(q)]
    stored += [word for (words,) in conn.execute("SELECT words FROM turns") for _start, _end, word, _probability in json.loads(words)]
    stored += [value for (data,) in conn.execute("SELECT data FROM call_insights") for value in _strings(json.loads(data))]
    conn.close()
    assert digit_runs(" ".join(stored), 4) == [], stored
    # The worker ran the nlp stage right after the commit.
    assert store.insights.of_calls([call.id])[call.id]["summary"]
