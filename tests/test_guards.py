"""Quality guards: repetition loops collapse to one copy, words invented from noise are dropped."""

from appliance.transcript.model import Segment
from appliance.stt.guards import clean_segments, collapse_repetitions
from appliance.transcript.model import Word


def segment(text: str, *, start: float = 0.0, step: float = 0.3, probability: float = 0.9,
            avg_logprob: float = -0.2, no_speech_prob: float = 0.01) -> Segment:
    """A segment whose words are spaced `step` apart, each with Whisper's leading space."""
    words = tuple(
        Word(start=round(start + i * step, 3), end=round(start + i * step + step * 0.8, 3), word=f" {w}",
             probability=probability)
        for i, w in enumerate(text.split())
    )
    return Segment(start=start, end=words[-1].end if words else start, text=text, words=words,
                   avg_logprob=avg_logprob, no_speech_prob=no_speech_prob)


# --- repetition loops --------------------------------------------------------------------------


def test_a_german_phrase_loop_collapses_to_one_copy():
    looped = segment("zu einem Termin zu einem Termin zu einem Termin zu einem Termin")
    collapsed = collapse_repetitions(looped)

    assert collapsed.text == "zu einem Termin"
    assert [w.word for w in collapsed.words] == [" zu", " einem", " Termin"]
    assert collapsed.words == looped.words[:3]
    assert collapsed.start == looped.start
    assert collapsed.end == looped.words[2].end


def test_words_before_and_after_a_loop_are_kept():
    looped = segment("Ich möchte zu einem Termin zu einem Termin zu einem Termin am Montag")
    assert collapse_repetitions(looped).text == "Ich möchte zu einem Termin am Montag"


def test_a_loop_is_found_despite_punctuation_and_case():
    looped = segment("Zu einem Termin, zu einem Termin, zu einem Termin.")
    assert collapse_repetitions(looped).text == "Zu einem Termin,"


def test_a_single_word_loop_collapses_to_one_word():
    collapsed = collapse_repetitions(segment("ja ja ja ja ja"))
    assert collapsed.text == "ja"
    assert len(collapsed.words) == 1


def test_text_that_legitimately_repeats_twice_is_kept():
    for text in ("zu einem Termin zu einem Termin", "sehr sehr gut", "nein nein"):
        original = segment(text)
        assert collapse_repetitions(original) == original


def test_a_segment_without_loops_is_returned_unchanged():
    original = segment("Please leave your message after the tone")
    assert collapse_repetitions(original) is original


def test_clean_segments_collapses_loops_in_every_segment():
    cleaned = clean_segments([segment("ja ja ja ja"), segment("bis bald bis bald bis bald", start=5.0)])
    assert [s.text for s in cleaned] == ["ja", "bis bald"]


# --- words from noise --------------------------------------------------------------------------


def test_an_unsure_thank_you_alone_is_dropped():
    noise = segment("Thank you.", probability=0.3)
    speech = segment("Hello, this is Anna.", start=2.0)
    assert clean_segments([noise, speech]) == [speech]


def test_a_confident_thank_you_is_kept():
    thanks = segment("Thank you.", probability=0.95)
    assert clean_segments([thanks]) == [thanks]


def test_an_unsure_sentence_that_is_not_a_known_noise_phrase_is_kept():
    unsure = segment("Thank you for calling Weasels", probability=0.3)
    assert clean_segments([unsure]) == [unsure]


def test_silence_with_a_low_log_probability_is_dropped_even_with_confident_words():
    silence = segment("Okay then let us go", no_speech_prob=0.7, avg_logprob=-1.2, probability=0.9)
    assert clean_segments([silence]) == []


def test_high_no_speech_probability_alone_does_not_drop_a_segment():
    likely = segment("Okay then let us go", no_speech_prob=0.7, avg_logprob=-0.4)
    unsure = segment("Okay then let us go", no_speech_prob=0.3, avg_logprob=-1.5)
    assert clean_segments([likely, unsure]) == [likely, unsure]


def test_a_segment_without_words_is_dropped():
    empty = Segment(start=0.0, end=1.0, text="", words=())
    assert clean_segments([empty]) == []


def test_a_sentence_looped_two_and_a_half_times_collapses_to_one_copy():
    sentence = "Please enter the channel number followed by the pound key."
    looped = segment(f"{sentence} {sentence} Please enter the channel")
    assert collapse_repetitions(looped).text == sentence
