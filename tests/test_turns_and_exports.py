"""Each speaker's words become one time-ordered conversation; exports render it faithfully."""

import json

import pytest

from appliance.transcript.model import Segment
from appliance.transcript.exports import FORMATS, export, to_json, to_srt, to_txt, to_vtt
from appliance.transcript.model import CallMeta, Speaker, Transcript, Turn, Word
from appliance.transcript.turns import build_turns

CALLER = Speaker(index=0, label="+49301234567", role="caller")
CALLEE = Speaker(index=1, label="200", role="callee")


def seg(*words: tuple[float, float, str]) -> Segment:
    """A segment from (start, end, word) triples; words keep Whisper's own spacing."""
    ws = tuple(Word(start=s, end=e, word=w, probability=0.9) for s, e, w in words)
    return Segment(start=ws[0].start, end=ws[-1].end, text="".join(w.word for w in ws).strip(), words=ws)


def summary(turns):
    return [(t.speaker, t.text) for t in turns]


# --- build_turns -------------------------------------------------------------------------------


def test_utterances_are_ordered_by_time_across_speakers():
    turns = build_turns([
        (CALLER, [seg((2.0, 2.4, " How"), (2.4, 2.8, " are"), (2.8, 3.0, " you?")), seg((6.0, 6.5, " Good."))]),
        (CALLEE, [seg((0.0, 0.5, " Hello."), (0.5, 1.0, " Anna")), seg((4.0, 4.6, " Fine."))]),
    ])
    assert summary(turns) == [(1, "Hello. Anna"), (0, "How are you?"), (1, "Fine."), (0, "Good.")]
    assert [t.start for t in turns] == [0.0, 2.0, 4.0, 6.0]


def test_an_interjection_of_the_other_speaker_stays_between_the_parts_of_a_long_segment():
    long_segment = seg((0.0, 0.4, " I"), (0.4, 0.8, " was"), (0.8, 1.2, " saying"),
                       (2.0, 2.3, " that"), (2.3, 2.6, " we"), (2.6, 3.0, " agree."))
    turns = build_turns([(CALLER, [long_segment]), (CALLEE, [seg((1.3, 1.7, " Yes."))])])

    assert summary(turns) == [(0, "I was saying"), (1, "Yes."), (0, "that we agree.")]
    assert [(t.start, t.end) for t in turns] == [(0.0, 1.2), (1.3, 1.7), (2.0, 3.0)]


def test_a_segment_is_split_where_its_speaker_pauses_longer_than_half_a_second():
    # 0.7 s pause: its own utterance, which the interjection then separates into two turns.
    caller = seg((0.0, 0.5, " One"), (1.2, 1.6, " two"))
    turns = build_turns([(CALLER, [caller]), (CALLEE, [seg((0.9, 1.0, " mm"))])])
    assert summary(turns) == [(0, "One"), (1, "mm"), (0, "two")]

    # A 0.4 s pause stays in the utterance: the interjection comes after the whole of it.
    caller = seg((0.0, 0.5, " One"), (0.9, 1.3, " two"))
    turns = build_turns([(CALLER, [caller]), (CALLEE, [seg((0.7, 0.8, " mm"))])])
    assert summary(turns) == [(0, "One two"), (1, "mm")]


def test_a_long_pause_inside_a_segment_starts_a_new_turn_even_without_the_other_speaker():
    turns = build_turns([(CALLER, [seg((0.0, 0.5, " Hello?"), (3.0, 3.5, " Hello?"))])])
    assert summary(turns) == [(0, "Hello?"), (0, "Hello?")]
    assert [(t.start, t.end) for t in turns] == [(0.0, 0.5), (3.0, 3.5)]


def test_same_speaker_utterances_with_a_short_pause_merge_into_one_turn():
    first = seg((0.0, 0.4, " Please"), (0.4, 0.9, " hold."))
    second = seg((1.8, 2.2, " Thank"), (2.2, 2.6, " you."))
    turns = build_turns([(CALLER, [first, second])])

    assert len(turns) == 1
    turn = turns[0]
    assert (turn.speaker, turn.start, turn.end) == (0, 0.0, 2.6)
    assert turn.text == "Please hold. Thank you."
    assert turn.words == first.words + second.words


def test_same_speaker_utterances_further_apart_than_the_turn_pause_stay_separate():
    turns = build_turns([(CALLER, [seg((0.0, 0.5, " Hello.")), seg((2.1, 2.5, " Hello?"))])])
    assert len(turns) == 2


def test_turn_text_joins_words_keeping_whispers_spacing():
    words = seg((0.0, 0.2, " She"), (0.2, 0.4, " was"), (0.4, 0.6, " ill"), (0.6, 0.9, "-disposed"),
                (0.9, 1.0, "."))
    assert build_turns([(CALLER, [words])])[0].text == "She was ill-disposed."


def test_nothing_said_gives_no_turns():
    assert build_turns([(CALLER, []), (CALLEE, [])]) == []


# --- exports -----------------------------------------------------------------------------------

TRANSCRIPT = Transcript(
    language="de",
    engine="faster-whisper",
    model="whisper-base",
    duration=3725.0,
    speakers=(CALLER, CALLEE),
    turns=(
        Turn(0, 62.5, 65.25, "Guten Tag, hier ist Anna.",
             (Word(62.5, 63.0, " Guten", 0.91), Word(63.0, 63.4, " Tag,", 0.88),
              Word(63.6, 63.9, " hier", 0.97), Word(63.9, 64.2, " ist", 0.99),
              Word(64.3, 65.25, " Anna.", 0.42))),
        Turn(1, 66.0, 67.004, "Hallo!", (Word(66.0, 67.004, " Hallo!", 0.8),)),
        Turn(0, 3723.004, 3724.5, "Tschüss.", (Word(3723.004, 3724.5, " Tschüss.", 0.75),)),
    ),
    meta=CallMeta(uniqueid="1700000000.1", caller="+49301234567", callee="200", direction="inbound",
                  started_at="2024-05-01T10:00:00+00:00", linkedid="1700000000.0", kind="call"),
)


def test_srt_numbers_its_cues_and_uses_comma_milliseconds():
    assert to_srt(TRANSCRIPT) == (
        "1\n00:01:02,500 --> 00:01:05,250\n+49301234567: Guten Tag, hier ist Anna.\n"
        "\n"
        "2\n00:01:06,000 --> 00:01:07,004\n200: Hallo!\n"
        "\n"
        "3\n01:02:03,004 --> 01:02:04,500\n+49301234567: Tschüss.\n"
    )


def test_webvtt_has_its_header_and_a_voice_per_cue():
    vtt = to_vtt(TRANSCRIPT)
    assert vtt.startswith("WEBVTT\n\n")
    assert vtt == (
        "WEBVTT\n\n"
        "00:01:02.500 --> 00:01:05.250\n<v +49301234567>Guten Tag, hier ist Anna.\n"
        "\n"
        "00:01:06.000 --> 00:01:07.004\n<v 200>Hallo!\n"
        "\n"
        "01:02:03.004 --> 01:02:04.500\n<v +49301234567>Tschüss.\n"
    )


def test_plain_text_has_one_line_per_turn_with_minutes_seconds_and_label():
    assert to_txt(TRANSCRIPT).splitlines() == [
        "[01:02] +49301234567: Guten Tag, hier ist Anna.",
        "[01:06] 200: Hallo!",
        "[62:03] +49301234567: Tschüss.",
    ]


def test_an_unknown_speaker_index_gets_a_numbered_label():
    transcript = Transcript("en", "e", "m", 2.0, speakers=(), turns=(Turn(2, 0.0, 1.0, "Hi."),))
    assert to_txt(transcript) == "[00:00] Speaker 3: Hi.\n"


def test_json_round_trips_through_from_dict_exactly():
    text = to_json(TRANSCRIPT)
    assert "Tschüss" in text  # not escaped to \u00fc
    assert Transcript.from_dict(json.loads(text)) == TRANSCRIPT


def test_an_empty_transcript_exports_without_cues():
    empty = Transcript("en", "faster-whisper", "whisper-base", 0.0, speakers=(CALLER,), turns=())
    assert to_txt(empty) == ""
    assert to_srt(empty) == ""
    assert to_vtt(empty) == "WEBVTT\n\n"
    assert Transcript.from_dict(json.loads(to_json(empty))) == empty


@pytest.mark.parametrize("fmt", FORMATS)
def test_export_dispatches_on_the_format_name(fmt):
    writers = {"txt": to_txt, "srt": to_srt, "vtt": to_vtt, "json": to_json}
    assert export(TRANSCRIPT, fmt) == writers[fmt](TRANSCRIPT)


def test_an_unknown_export_format_names_the_choices():
    with pytest.raises(ValueError, match="txt, srt, vtt, json"):
        export(TRANSCRIPT, "docx")


def test_webvtt_escapes_markup_in_names_and_text():
    from appliance.transcript.exports import to_vtt
    from appliance.transcript.model import Speaker, Transcript, Turn

    transcript = Transcript(language="en", engine="e", model="m", duration=2.0,
                            speakers=(Speaker(0, "Müller & Söhne <GmbH>"),),
                            turns=(Turn(0, 0.0, 1.0, "AT&T costs <5 euros"),))
    vtt = to_vtt(transcript)
    assert "<v Müller &amp; Söhne &lt;GmbH&gt;>AT&amp;T costs &lt;5 euros" in vtt
