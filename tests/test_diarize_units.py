"""Speaker sources, small parts: the choice, word assignment, the encoder's front end, the count."""

import logging
from pathlib import Path

import numpy as np
import pytest

from appliance.config import load_settings
from appliance.diarize import clustering, source
from appliance.diarize.assign import diarized_speakers, segments_by_speaker
from appliance.diarize.source import SourceChoice, SpeakerTurn, choose_source, numbered_by_first_turn
from appliance.diarize.voice_encoder import N_FFT, N_MELS, RATE, mel_filterbank, mel_frames
from appliance.errors import ConfigError
from appliance.transcript.model import Segment
from appliance.transcript.model import CallMeta, Word

NO_CONFIG = Path("/dev/null")  # never the machine's /etc/appliance/appliance.toml


def settings(**values):
    return load_settings(NO_CONFIG, environ={}, **values)


@pytest.mark.parametrize(
    "values, channels, kind, expected",
    [
        ({}, 2, "call", SourceChoice("channels")),
        ({"speaker_source": "embedded"}, 2, "call", SourceChoice("channels")),
        ({}, 1, "call", SourceChoice("embedded")),
        ({"pyannote_dir": "/srv/pyannote"}, 1, "call", SourceChoice("pyannote")),
        ({"speaker_source": "embedded", "pyannote_dir": "/srv/pyannote"}, 1, "call", SourceChoice("embedded")),
        ({"speaker_source": "pyannote"}, 1, "call", SourceChoice("pyannote")),
        ({"speaker_source": "channels"}, 1, "call", SourceChoice("channels")),
        ({"min_speakers": 2, "max_speakers": 3}, 1, "call", SourceChoice("embedded", 2, 3)),
        ({"pyannote_dir": "/srv/pyannote"}, 1, "voicemail", SourceChoice("embedded", one_unless_clear=True)),
        ({}, 1, "note", SourceChoice("embedded", one_unless_clear=True)),
    ],
)
def test_choice_follows_settings_and_recording(values, channels, kind, expected):
    assert choose_source(settings(**values), channels, kind) == expected


def test_unknown_speaker_source_is_a_readable_config_error():
    with pytest.raises(ConfigError, match="speaker_source.*'magic'"):
        choose_source(settings(speaker_source="magic"), 1, "call")


def test_pyannote_without_a_folder_falls_back_with_one_clear_log_line(caplog, models_dir):
    caplog.set_level(logging.WARNING)
    chosen = source.speaker_source("pyannote", settings(speaker_source="pyannote", models_dir=models_dir))
    assert chosen.name == "embedded"
    assert "no pyannote pipeline folder is configured" in caplog.text
    assert "using the embedded speaker source" in caplog.text


def _word(start, end, text):
    return Word(start, end, text, 0.9)


def test_each_word_goes_to_the_turn_that_overlaps_it_most():
    words = (_word(0.0, 0.4, " Hello"), _word(0.5, 0.9, " there."), _word(1.0, 1.4, " Hi"), _word(1.45, 2.0, " back."))
    segment = Segment(0.0, 2.0, "Hello there. Hi back.", words)
    # Speaker B starts at 0.95: "Hi" (1.0-1.4) is B's, " there." mostly A's.
    turns = [SpeakerTurn(0, 0.0, 0.95), SpeakerTurn(1, 0.95, 2.1)]
    first, second = segments_by_speaker([segment], turns)
    assert [p.text for p in first] == ["Hello there."]
    assert [p.text for p in second] == ["Hi back."]
    assert (second[0].start, second[0].end) == (1.0, 2.0)


def test_a_word_outside_every_turn_goes_to_the_nearest_one():
    words = (_word(0.0, 0.3, " Yes"), _word(5.0, 5.3, " no"))
    turns = [SpeakerTurn(0, 0.5, 1.0), SpeakerTurn(1, 4.0, 4.8)]
    first, second = segments_by_speaker([Segment(0.0, 5.3, "Yes no", words)], turns)
    assert first[0].text == "Yes" and second[0].text == "no"


def test_speakers_are_numbered_in_order_of_first_words():
    words = (_word(0.0, 0.4, " One"), _word(2.0, 2.4, " two"))
    turns = [SpeakerTurn(5, 0.0, 1.0), SpeakerTurn(2, 1.5, 3.0)]
    spoken = segments_by_speaker([Segment(0.0, 2.4, "One two", words)], turns)
    assert [pieces[0].text for pieces in spoken] == ["One", "two"]
    assert [s.label for s in diarized_speakers(CallMeta(), len(spoken))] == ["Speaker 1", "Speaker 2"]


def test_one_voice_in_a_voicemail_keeps_the_callers_name():
    (speaker,) = diarized_speakers(CallMeta(caller="+4930555", kind="voicemail"), 1)
    assert speaker.label == "+4930555"


def test_source_turns_are_renumbered_by_first_appearance():
    turns = [SpeakerTurn(3, 2.0, 3.0), SpeakerTurn(7, 0.0, 1.0), SpeakerTurn(3, 4.0, 5.0)]
    expected = [SpeakerTurn(0, 0.0, 1.0), SpeakerTurn(1, 2.0, 3.0), SpeakerTurn(1, 4.0, 5.0)]
    assert numbered_by_first_turn(turns) == expected


def test_mel_front_end_matches_the_one_the_encoder_was_trained_with():
    # Resemblyzer computes its input with librosa; ours must give the same numbers.
    import librosa
    samples = np.random.default_rng(0).standard_normal(RATE * 2).astype(np.float32) * 0.1
    expected = librosa.feature.melspectrogram(y=samples, sr=RATE, n_fft=N_FFT, hop_length=160, n_mels=N_MELS).T
    assert np.allclose(mel_filterbank(), librosa.filters.mel(sr=RATE, n_fft=N_FFT, n_mels=N_MELS), atol=1e-6)
    assert np.allclose(mel_frames(samples), expected, rtol=1e-3, atol=1e-6 * expected.max())


def _voices(centres, per_voice, spread, seed=0):
    rng = np.random.default_rng(seed)
    points = np.concatenate([c + spread * rng.standard_normal((per_voice, len(c))) for c in centres])
    return points / np.linalg.norm(points, axis=1, keepdims=True)


@pytest.mark.parametrize("voices", [1, 2, 3])
def test_speaker_count_is_found_without_a_threshold(voices):
    rng = np.random.default_rng(1)
    centres = [np.abs(rng.standard_normal(64)) for _ in range(voices)]
    embeddings = _voices(centres, 40, 0.25)
    found = clustering.cluster(embeddings, np.zeros((len(embeddings),) * 2, dtype=bool))
    assert found.count == voices
    # Each voice's windows share one label.
    assert all(len(set(found.labels[i * 40:(i + 1) * 40])) == 1 for i in range(voices))


def test_count_bounds_are_respected():
    rng = np.random.default_rng(2)
    embeddings = _voices([np.abs(rng.standard_normal(64)) for _ in range(3)], 30, 0.25)
    none = np.zeros((len(embeddings),) * 2, dtype=bool)
    assert clustering.cluster(embeddings, none, max_speakers=2).count == 2
    assert clustering.cluster(embeddings, none, min_speakers=1, max_speakers=1).count == 1
