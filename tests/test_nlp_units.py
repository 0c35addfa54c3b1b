"""Keywords, summary and entities on hand-written transcripts (no model), the LLM's off path,
and the stage that stores insights for the call list, search and exports."""

import pytest

from appliance.errors import ConfigError
from appliance.nlp import Insights, llm
from appliance.nlp.entities import call_entities
from appliance.nlp.keywords import extract_keywords
from appliance.nlp.stage import analyse, run_pending
from appliance.nlp.summary import extractive_summary, sentences
from appliance.transcript.exports import export
from appliance.transcript.model import CallMeta, Transcript, Turn
from support.store import CALLER_AND_CALLEE
from support.web import recorded_call, talk

GERMAN = [
    (1, "Guten Tag, Sie sprechen mit dem Kundendienst der Heizungsfirma Müller."),
    (0, "Guten Tag, meine Heizung im Keller ist seit gestern kalt und der Heizkessel zeigt einen Fehler."),
    (1, "Das tut mir leid. Welche Fehlernummer zeigt der Heizkessel an?"),
    (0, "Der Heizkessel zeigt Fehler 47. Können Sie bitte einen Techniker schicken?"),
    (1, "Ja, der Techniker kommt am Dienstag um zehn Uhr zur Wartung der Heizung."),
]


def _transcript(lines, language="en"):
    return Transcript(language, "faster-whisper", "base", 20.0, CALLER_AND_CALLEE, tuple(talk(lines)), CallMeta())


def test_german_keywords_are_topic_words_not_stopwords():
    keywords = [k.lower() for k in extract_keywords(" ".join(t for _, t in GERMAN), "de", 6)]
    assert any("heiz" in k for k in keywords), keywords
    assert not {"der", "die", "das", "und", "ist", "sie"} & {w for k in keywords for w in k.split()}


def test_summary_sentences_are_the_calls_own_and_mark_who_asked():
    transcript = _transcript(GERMAN, "de")
    lines = extractive_summary(transcript)
    said = {s.text for s in sentences(transcript)}
    assert lines and all(line.text in said for line in lines)
    assert {line.speaker for line in lines} == {0, 1}
    asks = [line for line in lines if line.request]
    assert asks and all(line.text.endswith("?") or "bitte" in line.text.lower() for line in asks)
    assert lines == tuple(sorted(lines, key=lambda line: line.start))


def test_the_sentences_of_one_long_turn_start_where_they_were_said():
    from support.web import words_of

    text = "Hello this is Anna. Please call me back. Thanks a lot."
    turn = Turn(0, 2.0, 11.0, text, words_of(text, 2.0, 11.0))  # eleven words, 9/11 s each
    transcript = Transcript("en", "fw", "base", 11.0, CALLER_AND_CALLEE[:1], (turn,), CallMeta(kind="voicemail"))
    assert [round(s.start, 1) for s in sentences(transcript)] == [2.0, 5.3, 8.5]


def test_entities_from_default_and_site_patterns():
    transcript = _transcript([(0, "My order number is 4711-0815 and I paid 49.90 euros on 12.05.2025."),
                              (1, "Your ticket is T-2231. Call us on 030 1234567 or mail help@example.com.")])
    found = {(e.kind, e.value) for e in call_entities(transcript, {"customer": r"\bT-(\d{4})\b"})}
    assert {("order", "4711-0815"), ("amount", "49.90 euros"), ("date", "12.05.2025"),
            ("phone", "0301234567"), ("email", "help@example.com"), ("customer", "2231")} <= found
    with pytest.raises(ConfigError, match="broken"):
        call_entities(transcript, {"broken": "(unclosed"})


def test_the_llm_is_off_by_default_and_falls_back_with_a_reason(make_settings, tmp_path):
    assert llm.choose(make_settings()) == llm.Choice(None, None)
    assert llm.summariser_for(make_settings()) is None
    folder = tmp_path / "llm"
    folder.mkdir()
    wanted = make_settings(nlp_summariser="llm", llm_model_dir=folder)
    assert "no GGUF model" in llm.choose(wanted).reason
    (folder / "model.gguf").write_bytes(b"GGUF")
    choice = llm.choose(wanted)
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        assert "llama-cpp-python is not installed" in choice.reason
    else:
        assert choice.model_path == folder / "model.gguf"


def test_a_failing_llm_leaves_the_extractive_summary(make_settings):
    class Broken:
        name = "llm"

        def abstract(self, transcript, lines):
            raise RuntimeError("model crashed")

    insights = analyse(_transcript(GERMAN, "de"), make_settings(), Broken())
    assert insights.summariser == "extractive" and insights.abstract is None and insights.summary


def test_stage_stores_insights_that_list_search_and_exports_show(store, settings, tmp_path, admin_client):
    call_id = recorded_call(store, [tmp_path / "a.wav"], CallMeta(uniqueid="1.1"), talk(GERMAN)).call_id
    assert run_pending(store, settings) == 1 and run_pending(store, settings) == 0
    insights = Insights.from_dict(store.insights.of_calls([call_id])[call_id])
    assert insights.keywords and insights.summary

    keyword = insights.keywords[0]
    assert store.insights.search(keyword.split()[0]) == [call_id]
    page = admin_client.get("/").get_data(as_text=True)
    assert keyword in page
    call_page = admin_client.get(f"/calls/{call_id}").get_data(as_text=True)
    assert insights.summary[0].text.split()[0] in call_page and "Summary" in call_page
    assert "Calls about this" in admin_client.get(f"/search?q={keyword.split()[0]}").get_data(as_text=True)
    txt = admin_client.get(f"/calls/{call_id}/export/txt").get_data(as_text=True)
    assert txt.startswith("Keywords: " + ", ".join(insights.keywords))
    assert export(store.transcripts.get(call_id), "json", store.insights.of_calls([call_id])[call_id]).count('"keywords"') == 1

    csv = admin_client.get("/calls/export.csv").get_data(as_text=True)
    assert keyword in csv and "summary" in csv.splitlines()[0]
    rows = admin_client.get("/calls/export.json?from=2000-01-01&to=2000-01-02").get_json()
    assert rows == []  # the range filters
    assert admin_client.get("/calls/export.json").get_json()[0]["keywords"] == list(insights.keywords)

    store.calls.delete(call_id)
    assert store.insights.search(keyword.split()[0]) == []
