"""A recorded call becomes a speaker-separated transcript: real voices, real model."""

import re

import numpy as np
import pytest
import soundfile

from appliance import democall
from appliance.pipeline import transcribe_recording
from appliance.transcript.model import CallMeta
from support.demo import KEY_WORDS

pytestmark = pytest.mark.model

META = CallMeta(uniqueid="1700000000.1", caller="+49301234567", callee="200", direction="inbound")


def _normal(text: str) -> str:
    return re.sub(r"[^\w ]+", " ", text.lower())


def assert_each_sentence_with_its_speaker(transcript):
    turns = [(t.speaker, _normal(t.text)) for t in transcript.turns]
    position = 0
    for speaker, words in KEY_WORDS:
        # The sentence appears in a turn of the right speaker, later than the previous one...
        found = [i for i, (s, text) in enumerate(turns) if i >= position and all(w in text for w in words)]
        assert found, f"{words} not found after turn {position}: {turns}"
        assert turns[found[0]][0] == speaker, f"{words} attributed to the wrong speaker: {turns}"
        position = found[0]
        # ...and nowhere else: bleed must not duplicate it on the other channel.
        everywhere = [s for s, text in turns if all(w in text for w in words)]
        assert everywhere == [speaker], f"{words} appears more than once: {turns}"


@pytest.fixture(scope="module")
def call():
    return democall.mix_call(bleed_db=-24.0)


def test_stereo_wav_call_attributes_each_sentence_to_the_right_party(call, tmp_path, settings, engine):
    path = democall.write_stereo_wav(call, tmp_path / "call.wav")
    transcript = transcribe_recording([path], META, settings, engine)

    assert_each_sentence_with_its_speaker(transcript)
    assert [s.label for s in transcript.speakers] == ["+49301234567", "200"]
    assert [s.role for s in transcript.speakers] == ["caller", "callee"]
    assert transcript.language == "en"
    assert transcript.duration == pytest.approx(len(call) / 8000, abs=0.01)


def test_mixmonitor_d_raw_file_gives_the_same_conversation(call, tmp_path, settings, engine):
    path = democall.write_mixmonitor_raw(call, tmp_path / "1700000000.1.raw")
    transcript = transcribe_recording([path], META, settings, engine)
    assert_each_sentence_with_its_speaker(transcript)


def test_mixmonitor_r_and_t_files_give_the_same_conversation(call, tmp_path, settings, engine):
    pair = democall.write_mixmonitor_pair(call, tmp_path / "1700000000.1")
    transcript = transcribe_recording(list(pair), META, settings, engine)
    assert_each_sentence_with_its_speaker(transcript)


@pytest.mark.parametrize("bleed_db", [-12.0, -8.0])
def test_strong_hybrid_echo_does_not_duplicate_sentences(bleed_db, tmp_path, settings, engine):
    path = democall.write_stereo_wav(democall.mix_call(bleed_db=bleed_db), tmp_path / "echo.wav")
    transcript = transcribe_recording([path], META, settings, engine)
    assert_each_sentence_with_its_speaker(transcript)


def test_overlapping_speech_stays_with_its_own_speaker(tmp_path, settings, engine):
    script = (
        democall.Utterance(1, democall.ASTERISK_SOUNDS / "queue-periodic-announce.wav", ""),
        # The caller talks over the middle of the callee's announcement.
        democall.Utterance(0, democall.LIBRIVOX / "sense_and_sensibility_01_austen_64kb-0930.wav", "", gap=-5.0),
    )
    path = democall.write_stereo_wav(democall.mix_call(script), tmp_path / "overlap.wav")
    transcript = transcribe_recording([path], META, settings, engine)

    callee_text = _normal(" ".join(t.text for t in transcript.turns if t.speaker == 1))
    caller_text = _normal(" ".join(t.text for t in transcript.turns if t.speaker == 0))
    assert "amiable" in caller_text and "amiable" not in callee_text
    assert "representatives" in callee_text and "representatives" not in caller_text


def test_mono_recording_is_one_speaker_with_speaker_source_channels(call, tmp_path, make_settings, engine):
    # Mono diarization switched off; with it, tests/test_diarize_embedded.py.
    path = tmp_path / "mono.wav"
    soundfile.write(str(path), democall.to_int16(call.mean(axis=1)), 8000)
    transcript = transcribe_recording([path], META, make_settings(speaker_source="channels"), engine)

    assert len(transcript.speakers) == 1
    assert {t.speaker for t in transcript.turns} == {0}
    text = _normal(transcript.text)
    assert all(w in text for _, words in KEY_WORDS for w in words)


def test_words_carry_times_and_probabilities_within_their_turn(call, tmp_path, settings, engine):
    path = democall.write_stereo_wav(call, tmp_path / "call.wav")
    transcript = transcribe_recording([path], META, settings, engine)
    for turn in transcript.turns:
        assert turn.words
        assert turn.start <= turn.words[0].start and turn.words[-1].end <= turn.end + 1e-6
        for word in turn.words:
            assert 0.0 <= word.probability <= 1.0
            assert word.start <= word.end


def test_site_vocabulary_steers_the_recogniser_to_the_right_name(call, tmp_path, settings, engine):
    """Whisper base hears "Diesel's"/"Peasals" here; the site vocabulary fixes it."""
    path = democall.write_stereo_wav(call, tmp_path / "call.wav")
    without = transcribe_recording([path], META, settings, engine)
    with_vocabulary = transcribe_recording([path], META, settings, engine, hotwords="Weasels")

    assert "weasels" not in _normal(without.text)
    assert "weasels" in _normal(with_vocabulary.text)


def _stereo(tmp_path, name, left, right, rate=8000):
    path = tmp_path / name
    soundfile.write(str(path), np.stack([left, right], axis=1).astype(np.float32), rate, subtype="PCM_16")
    return path


def _dtmf(digits: str, rate=8000) -> np.ndarray:
    table = {"1": (697, 1209), "2": (697, 1336), "3": (697, 1477), "4": (770, 1209), "5": (770, 1336),
             "6": (770, 1477), "7": (852, 1209), "8": (852, 1336), "9": (852, 1477), "0": (941, 1336),
             "*": (941, 1209), "#": (941, 1477)}
    t = np.arange(int(0.12 * rate)) / rate
    parts = []
    for digit in digits:
        low, high = table[digit]
        parts += [0.25 * (np.sin(2 * np.pi * low * t) + np.sin(2 * np.pi * high * t)), np.zeros(int(0.08 * rate))]
    return np.concatenate(parts)


def test_no_words_from_silence_comfort_noise_or_dtmf(tmp_path, settings, engine):
    rng = np.random.default_rng(7)
    seconds = 30 * 8000
    quiet_hiss = rng.normal(0, 3e-4, seconds)  # a line with nobody talking
    comfort_noise = np.convolve(rng.normal(0, 0.01, seconds), np.ones(8) / 8, mode="same")
    tones = np.resize(_dtmf("0123456789*#" * 3), seconds)

    for name, left, right in [("silence.wav", quiet_hiss, quiet_hiss[::-1]),
                              ("comfort.wav", comfort_noise, quiet_hiss),
                              ("dtmf.wav", tones, quiet_hiss)]:
        transcript = transcribe_recording([_stereo(tmp_path, name, left, right)], META, settings, engine)
        assert transcript.turns == (), f"{name}: {transcript.text!r}"


def test_language_comes_from_the_number_rule(tmp_path, make_settings, engine):
    """A German caller (per-number rule) is decoded as German; espeak-ng at 16 kHz speaks it."""
    import subprocess

    path = tmp_path / "termin.wav"
    subprocess.run(["espeak-ng", "-v", "de", "-w", str(path),
                    "Guten Tag, ich möchte gerne einen Termin vereinbaren. Am Dienstag um zehn Uhr wäre gut."],
                   check=True)
    settings = make_settings(language="en", language_by_number={"+49*": "de"})
    transcript = transcribe_recording([path], META, settings, engine)

    assert transcript.language == "de"
    assert "termin" in _normal(transcript.text) and "dienstag" in _normal(transcript.text)
