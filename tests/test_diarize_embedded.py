"""Speakers in mono recordings with the embedded source: real voices, real encoder, real Whisper."""

import re
from pathlib import Path

import pytest

from appliance import democall
from appliance.audio import DecodeOptions, load_recording
from appliance.config import load_settings
from support import diarization
from appliance.diarize import embedded as embedded_module
from appliance.diarize.source import SourceChoice, speaker_source
from appliance.pipeline import transcribe_recording
from appliance.transcript.model import CallMeta

# The demo call's sentences, by party: 0 the LibriVox reader, 1 Asterisk's prompt voice.
from support.demo import KEY_WORDS


@pytest.fixture(scope="module")
def embedded(models_dir):
    return speaker_source("embedded", load_settings(Path("/dev/null"), environ={}, models_dir=models_dir))


def _samples(path):
    return load_recording([path], DecodeOptions()).channels[0]


def _normal(text):
    return re.sub(r"[^\w ]+", " ", text.lower())


def test_pyannote_sample_has_two_speakers_and_a_bounded_error(embedded):
    path, reference = diarization.pyannote_sample()
    samples = _samples(path)
    turns = embedded.turns(samples, SourceChoice("embedded"))

    assert {t.speaker for t in turns} == {0, 1}
    duration = len(samples) / 16000
    error, with_collar = diarization.der(reference, turns, duration), diarization.der(reference, turns, duration, 0.25)
    print(f"pyannote sample, embedded source: DER {error:.1%} (no collar), {with_collar:.1%} (±0.25 s collar)")
    assert error <= 0.25


def test_one_voice_is_one_speaker_even_without_the_voicemail_hint(embedded, tmp_path):
    diarization.one_voice(tmp_path / "monologue.wav")
    samples = _samples(tmp_path / "monologue.wav")
    turns = embedded.turns(samples, SourceChoice("embedded"))
    assert turns and {t.speaker for t in turns} == {0}


@pytest.mark.parametrize("path", [
    democall.ASTERISK_SOUNDS / "vm-toforward.wav",
    democall.ASTERISK_SOUNDS / "priv-introsaved.wav",
    democall.ASTERISK_SOUNDS / "demo-congrats.wav",
    democall.LIBRIVOX / "sense_and_sensibility_01_austen_64kb-0890.wav",
], ids=lambda p: p.stem)
def test_a_single_prompt_or_sentence_is_one_speaker(embedded, path):
    # Short recordings split one voice into several before the minimum-evidence rules.
    turns = embedded.turns(_samples(path), SourceChoice("embedded"))
    assert turns and {t.speaker for t in turns} == {0}


def test_voicemail_path_still_hears_a_clear_second_voice(embedded, tmp_path):
    reference = diarization.mono_mixture(tmp_path / "mix.wav")
    samples = _samples(tmp_path / "mix.wav")
    turns = embedded.turns(samples, SourceChoice("embedded", one_unless_clear=True))
    assert {t.speaker for t in turns} == {0, 1}
    assert diarization.der(reference, turns, len(samples) / 16000, 0.25) < 0.1


@pytest.mark.model
def test_mono_call_of_two_real_voices_attributes_each_sentence_to_its_speaker(tmp_path, settings, engine):
    diarization.mono_mixture(tmp_path / "mono.wav")
    meta = CallMeta(uniqueid="1700000000.9", caller="+49301234567", callee="200")
    transcript = transcribe_recording([tmp_path / "mono.wav"], meta, settings, engine)

    assert [s.label for s in transcript.speakers] == ["Speaker 1", "Speaker 2"]
    # Speaker 1 is who spoke first: Asterisk's voice (party 1).
    speaker_of_party = {1: 0, 0: 1}
    turns = [(t.speaker, _normal(t.text)) for t in transcript.turns]
    for party, words in KEY_WORDS:
        said_by = {s for s, text in turns if all(w in text for w in words)}
        assert said_by == {speaker_of_party[party]}, f"{words}: {turns}"


@pytest.mark.model
def test_one_voice_voicemail_is_one_speaker_named_for_the_caller(tmp_path, settings, engine):
    diarization.one_voice(tmp_path / "vm.wav")
    meta = CallMeta(uniqueid="1700000000.10", caller="+49301234567", callee="100", kind="voicemail")
    transcript = transcribe_recording([tmp_path / "vm.wav"], meta, settings, engine)

    assert [s.label for s in transcript.speakers] == ["+49301234567"]
    assert {t.speaker for t in transcript.turns} == {0}
    assert "weasels" in _normal(transcript.text)


def test_windows_between_two_of_one_speaker_are_not_embedded_and_change_no_label(embedded, tmp_path, monkeypatch):
    # A long recording clusters an even spread of its windows; the others are embedded only
    # where the speaker changes. Shrinking the spread makes the demo call such a recording.
    reference = diarization.mono_mixture(tmp_path / "mix.wav")
    samples = _samples(tmp_path / "mix.wav")
    duration = len(samples) / 16000
    counted = []
    embed = embedded.encoder.embed
    monkeypatch.setattr(embedded.encoder, "embed", lambda mel, starts: counted.append(len(starts)) or embed(mel, starts))
    every = embedded.turns(samples, SourceChoice("embedded"))
    all_windows, counted[:] = sum(counted), []
    monkeypatch.setattr(embedded_module, "MAX_CLUSTERED_WINDOWS", all_windows // 4)
    spread = embedded.turns(samples, SourceChoice("embedded"))

    assert sum(counted) < all_windows / 2
    assert {t.speaker for t in spread} == {t.speaker for t in every} == {0, 1}
    # Frame by frame, the same speaker as with every window embedded (and as the reference).
    assert diarization.der(every, spread, duration) < 0.01
    assert diarization.der(reference, spread, duration, 0.25) < 0.01
