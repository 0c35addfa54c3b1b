"""appliance.audio on good recordings: every accepted input becomes float32 at 16 kHz, one
array per party, with the right signal on the right channel.

Inputs are written here (numpy/soundfile) or converted from a real Debian sound with the
`ffmpeg` and `sox` command-line tools; no audio is committed.
"""

from __future__ import annotations

import itertools
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile
from hypothesis import HealthCheck, given, settings, strategies as st

from appliance import audio
from appliance.audio import Audio, DecodeOptions, load_recording
from appliance.errors import BadAudio

VM_INTRO = Path("/usr/share/asterisk/sounds/en/vm-intro.wav")  # 8 kHz mono s16, 45235 frames
VM_INTRO_SECONDS = 45235 / 8000

needs_vm_intro = pytest.mark.skipif(not VM_INTRO.is_file(), reason=f"{VM_INTRO} is missing")


def _tone(frequency: float, rate: int, seconds: float, amplitude: float = 0.3) -> np.ndarray:
    t = np.arange(int(round(rate * seconds))) / rate
    return (amplitude * np.sin(2 * np.pi * frequency * t)).astype(np.float32)


def _peak_hz(samples: np.ndarray, rate: int = 16000) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[np.argmax(spectrum)])


def _rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))


def _s16(samples: np.ndarray) -> np.ndarray:
    return np.round(samples * 32767).astype("<i2")


def _assert_16k_float32(decoded: Audio, channels: int, seconds: float, tolerance: float = 1e-3) -> None:
    assert isinstance(decoded, Audio)
    assert len(decoded.channels) == channels
    assert decoded.sample_rate == 16000
    for channel in decoded.channels:
        assert channel.dtype == np.float32 and channel.ndim == 1
        assert len(channel) == len(decoded.channels[0])
        assert np.all(np.isfinite(channel)) and np.max(np.abs(channel)) <= 1.5
    assert decoded.duration == pytest.approx(seconds, abs=tolerance)


def _convert(tool: str, source: Path, target: Path, *args: str) -> Path:
    if shutil.which(tool) is None:
        pytest.skip(f"the {tool} command is not installed")
    if tool == "ffmpeg":
        command = ["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-i", str(source), *args, str(target)]
    else:
        command = ["sox", str(source), *args, str(target)]
    subprocess.run(command, check=True, capture_output=True, timeout=60)
    return target


@pytest.fixture
def ffmpeg_calls(monkeypatch):
    """Records each file that reached the FFmpeg (PyAV) decoder."""
    calls = []
    real = audio._decode_with_ffmpeg

    def spy(path, options, demuxer=None):
        calls.append((Path(path).name, demuxer))
        return real(path, options, demuxer)

    monkeypatch.setattr(audio, "_decode_with_ffmpeg", spy)
    return calls


# --- WAV and other libsndfile formats -----------------------------------------------------------


def test_stereo_wav_decodes_to_two_channels_at_16_khz_with_its_duration(tmp_path):
    path = tmp_path / "call.wav"
    soundfile.write(path, np.stack([_tone(440, 8000, 2.5), _tone(1000, 8000, 2.5)], axis=1), 8000)

    decoded = load_recording([path])

    _assert_16k_float32(decoded, channels=2, seconds=2.5)
    assert len(decoded.channels[0]) == 40000
    assert decoded.source_rate == 8000
    assert decoded.source == "call.wav"
    assert _peak_hz(decoded.channels[0]) == pytest.approx(440, abs=5)
    assert _peak_hz(decoded.channels[1]) == pytest.approx(1000, abs=5)


def test_mono_wav_decodes_to_one_channel(tmp_path):
    path = tmp_path / "memo.wav"
    soundfile.write(path, _tone(440, 16000, 1.0), 16000, subtype="PCM_16")

    decoded = load_recording([path])

    _assert_16k_float32(decoded, channels=1, seconds=1.0)
    assert decoded.source_rate == 16000
    np.testing.assert_allclose(decoded.channels[0], _tone(440, 16000, 1.0), atol=1e-4)
    assert decoded.mixdown().shape == decoded.channels[0].shape


def test_48_khz_float_wav_is_resampled_to_16_khz_keeping_the_pitch(tmp_path):
    path = tmp_path / "wideband.wav"
    soundfile.write(path, _tone(3000, 48000, 1.0), 48000, subtype="FLOAT")

    decoded = load_recording([path])

    _assert_16k_float32(decoded, channels=1, seconds=1.0)
    assert decoded.source_rate == 48000
    assert _peak_hz(decoded.channels[0]) == pytest.approx(3000, abs=5)
    assert _rms(decoded.channels[0]) == pytest.approx(0.3 / np.sqrt(2), rel=0.02)


def test_mixdown_averages_the_parties_into_one_track(tmp_path):
    path = tmp_path / "call.wav"
    left, right = _tone(440, 16000, 1.0), np.zeros(16000, np.float32)
    soundfile.write(path, np.stack([left, right], axis=1), 16000, subtype="FLOAT")

    mixed = load_recording([path]).mixdown()

    assert mixed.dtype == np.float32
    np.testing.assert_allclose(mixed, left / 2, atol=1e-6)


# --- MixMonitor's header-less signed linear -------------------------------------------------------


def test_mixmonitor_d_raw_puts_each_direction_on_its_own_channel(tmp_path):
    # MixMonitor with the D option: s16le frames of (read, write) at 8 kHz, no header.
    rate, seconds = 8000, 2.0
    party_a = _tone(440, rate, seconds)
    party_b = np.concatenate([np.zeros(rate, np.float32), _tone(1000, rate, seconds - 1.0)])
    path = tmp_path / "1700000000.1.raw"
    path.write_bytes(np.stack([_s16(party_a), _s16(party_b)], axis=1).tobytes())

    decoded = load_recording([path])

    _assert_16k_float32(decoded, channels=2, seconds=seconds)
    assert decoded.source_rate == 8000
    a, b = decoded.channels
    assert _peak_hz(a) == pytest.approx(440, abs=5)
    assert _peak_hz(b[16000 + 800:]) == pytest.approx(1000, abs=5)
    assert _rms(b[: 16000 - 800]) < 1e-3  # the first second of party B is silent
    assert _rms(a) == pytest.approx(0.3 / np.sqrt(2), rel=0.02)


def test_sln16_is_read_at_16_khz_without_resampling(tmp_path):
    samples = _tone(700, 16000, 1.5)
    path = tmp_path / "1700000000.2.sln16"
    path.write_bytes(_s16(samples).tobytes())

    decoded = load_recording([path], DecodeOptions(raw_channels=1))

    _assert_16k_float32(decoded, channels=1, seconds=1.5)
    assert decoded.source_rate == 16000
    np.testing.assert_allclose(decoded.channels[0], samples, atol=2 / 32768)


@pytest.mark.parametrize(("suffix", "rate"), [(".sln", 8000), (".slin", 8000), (".sln12", 12000),
                                              (".sln32", 32000), (".sln44", 44100), (".sln48", 48000)])
def test_signed_linear_extension_names_the_sample_rate(tmp_path, suffix, rate):
    path = tmp_path / f"1700000000.3{suffix}"
    path.write_bytes(_s16(_tone(1000, rate, 1.0)).tobytes())

    decoded = load_recording([path], DecodeOptions(raw_channels=1))

    _assert_16k_float32(decoded, channels=1, seconds=1.0)
    assert decoded.source_rate == rate
    assert _peak_hz(decoded.channels[0]) == pytest.approx(1000, abs=5)


def test_plain_raw_uses_the_configured_rate_and_channels(tmp_path):
    path = tmp_path / "1700000000.4.raw"
    path.write_bytes(_s16(_tone(500, 16000, 1.0)).tobytes())

    decoded = load_recording([path], DecodeOptions(raw_sample_rate=16000, raw_channels=1))

    _assert_16k_float32(decoded, channels=1, seconds=1.0)
    assert _peak_hz(decoded.channels[0]) == pytest.approx(500, abs=5)


# --- r()/t() pairs --------------------------------------------------------------------------------


def test_rt_pair_of_different_lengths_is_padded_to_the_same_length(tmp_path):
    heard = tmp_path / "1700000000.5-r.wav"  # party A, 8 kHz WAV, 1.0 s
    said = tmp_path / "1700000000.5-t.sln16"  # party B, 16 kHz signed linear, 1.5 s
    soundfile.write(heard, _tone(440, 8000, 1.0), 8000)
    said.write_bytes(_s16(_tone(1000, 16000, 1.5)).tobytes())

    decoded = load_recording([heard, said])

    _assert_16k_float32(decoded, channels=2, seconds=1.5)
    a, b = decoded.channels
    assert decoded.source == "1700000000.5-r.wav + 1700000000.5-t.sln16"
    assert _peak_hz(a[:16000]) == pytest.approx(440, abs=5)
    assert _peak_hz(b) == pytest.approx(1000, abs=5)
    assert not np.any(a[16000 + 100:])  # padded with silence, not stretched


def test_rt_pair_files_are_mono_even_when_raw_channels_is_two(tmp_path):
    paths = [tmp_path / "call-r.sln", tmp_path / "call-t.sln"]
    for path, hz in zip(paths, (300, 2000)):
        path.write_bytes(_s16(_tone(hz, 8000, 1.0)).tobytes())

    decoded = load_recording(paths, DecodeOptions(raw_channels=2))

    _assert_16k_float32(decoded, channels=2, seconds=1.0)
    assert [_peak_hz(ch) for ch in decoded.channels] == [pytest.approx(300, abs=5), pytest.approx(2000, abs=5)]


# --- compressed and telephone codecs, from a real recording ---------------------------------------


@pytest.fixture(scope="module")
def vm_intro_samples():
    if not VM_INTRO.is_file():
        pytest.skip(f"{VM_INTRO} is missing")
    return load_recording([VM_INTRO]).channels[0]


def _similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Peak normalised cross-correlation over small shifts (codecs add a little delay)."""
    n = min(len(a), len(b))
    a, b = a[:n] - a[:n].mean(), b[:n] - b[:n].mean()
    best = 0.0
    for shift in range(0, 1200, 4):
        x, y = a[shift:], b[: n - shift]
        best = max(best, float(np.dot(x, y) / (np.linalg.norm(x) * np.linalg.norm(y))))
        x, y = a[: n - shift], b[shift:]
        best = max(best, float(np.dot(x, y) / (np.linalg.norm(x) * np.linalg.norm(y))))
    return best


@needs_vm_intro
def test_debian_wav_prompt_decodes_at_its_length():
    decoded = load_recording([VM_INTRO])

    _assert_16k_float32(decoded, channels=1, seconds=VM_INTRO_SECONDS)
    assert decoded.source_rate == 8000


@needs_vm_intro
@pytest.mark.parametrize(
    ("name", "tool", "args", "min_similarity"),
    [
        ("vm-intro.ulaw", "sox", ["-t", "ul"], 0.99),
        ("vm-intro.alaw", "sox", ["-t", "al"], 0.99),
        ("vm-intro.gsm", "sox", [], 0.8),
        ("vm-intro.g722", "ffmpeg", ["-ar", "16000", "-c:a", "g722", "-f", "g722"], 0.8),
    ],
    ids=["ulaw", "alaw", "gsm", "g722"],
)
def test_asterisk_telephone_formats_decode_with_ffmpeg(
    tmp_path, ffmpeg_calls, vm_intro_samples, name, tool, args, min_similarity
):
    path = _convert(tool, VM_INTRO, tmp_path / name, *args)

    decoded = load_recording([path])

    _assert_16k_float32(decoded, channels=1, seconds=VM_INTRO_SECONDS, tolerance=0.05)
    assert ffmpeg_calls and ffmpeg_calls[0][0] == name
    assert _similarity(decoded.channels[0], vm_intro_samples) > min_similarity


@needs_vm_intro
@pytest.mark.parametrize(
    ("name", "args"),
    [("vm-intro.mp3", ["-c:a", "libmp3lame", "-b:a", "32k"]),
     ("vm-intro.ogg", ["-c:a", "libvorbis"]),
     ("vm-intro.flac", [])],
    ids=["mp3", "ogg", "flac"],
)
def test_compressed_formats_decode_to_the_same_speech(tmp_path, vm_intro_samples, name, args):
    path = _convert("ffmpeg", VM_INTRO, tmp_path / name, *args)

    decoded = load_recording([path])

    # Encoders may add a few ms of padding.
    _assert_16k_float32(decoded, channels=1, seconds=VM_INTRO_SECONDS, tolerance=0.1)
    assert _similarity(decoded.channels[0], vm_intro_samples) > 0.8


@needs_vm_intro
@pytest.mark.parametrize(("name", "args"), [("vm-intro.m4a", ["-c:a", "aac"]), ("vm-intro.webm", ["-c:a", "libopus"])],
                         ids=["aac-m4a", "opus-webm"])
def test_formats_libsndfile_cannot_read_fall_back_to_ffmpeg(tmp_path, ffmpeg_calls, vm_intro_samples, name, args):
    path = _convert("ffmpeg", VM_INTRO, tmp_path / name, *args)

    decoded = load_recording([path])

    assert ffmpeg_calls == [(name, None)]
    # AAC keeps its 1024-sample priming and frame padding, as the ffmpeg command does.
    _assert_16k_float32(decoded, channels=1, seconds=VM_INTRO_SECONDS, tolerance=0.15)
    assert _similarity(decoded.channels[0], vm_intro_samples) > 0.8


@needs_vm_intro
def test_stereo_mp3_keeps_both_parties(tmp_path):
    source = tmp_path / "stereo.wav"
    soundfile.write(source, np.stack([_tone(440, 8000, 2.0), _tone(1000, 8000, 2.0)], axis=1), 8000)
    path = _convert("ffmpeg", source, tmp_path / "stereo.mp3", "-c:a", "libmp3lame", "-b:a", "64k")

    decoded = load_recording([path])

    _assert_16k_float32(decoded, channels=2, seconds=2.0, tolerance=0.1)
    assert _peak_hz(decoded.channels[0]) == pytest.approx(440, abs=10)
    assert _peak_hz(decoded.channels[1]) == pytest.approx(1000, abs=10)


# --- anything at all: Audio or BadAudio, never another exception ---------------------------------

SUFFIXES = [".wav", ".raw", ".sln", ".sln16", ".mp3", ".ogg", ".gsm", ".ulaw", ".flac"]
_names = itertools.count()


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=4096), suffix=st.sampled_from(SUFFIXES))
def test_random_bytes_give_audio_or_bad_audio_and_nothing_else(fuzz_dir, data, suffix):
    path = fuzz_dir / f"random-{next(_names)}{suffix}"
    path.write_bytes(data)

    try:
        decoded = load_recording([path])
    except BadAudio as exc:
        assert str(exc) and "\n" not in str(exc)
    else:
        assert isinstance(decoded, Audio)
        assert all(np.all(np.isfinite(ch)) for ch in decoded.channels)
    assert path.read_bytes() == data  # decoding never changes the recording


@pytest.fixture(scope="module")
def encoded_prompts(tmp_path_factory):
    """vm-intro in every format the fuzzer mutates: real headers make the decoders work hardest."""
    if not VM_INTRO.is_file() or not shutil.which("ffmpeg") or not shutil.which("sox"):
        pytest.skip("needs vm-intro.wav, ffmpeg and sox")
    folder = tmp_path_factory.mktemp("prompts")
    made = {".wav": VM_INTRO.read_bytes()}
    for suffix, tool, args in [(".mp3", "ffmpeg", ["-b:a", "32k"]), (".ogg", "ffmpeg", []), (".flac", "sox", []),
                               (".gsm", "sox", []), (".ulaw", "sox", ["-t", "ul"])]:
        made[suffix] = _convert(tool, VM_INTRO, folder / f"vm-intro{suffix}", *args).read_bytes()
    return made


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(source=st.sampled_from([".wav", ".mp3", ".ogg", ".flac", ".gsm", ".ulaw"]),
       suffix=st.sampled_from(SUFFIXES), cut=st.floats(0, 1),
       flips=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), max_size=16))
def test_damaged_real_recordings_give_audio_or_bad_audio_and_nothing_else(
    fuzz_dir, encoded_prompts, source, suffix, cut, flips
):
    data = bytearray(encoded_prompts[source][: int(len(encoded_prompts[source]) * cut)])
    for where, value in flips:
        if data:
            data[int(where * len(data))] = value
    path = fuzz_dir / f"damaged-{next(_names)}{suffix}"
    path.write_bytes(bytes(data))

    try:
        decoded = load_recording([path])
    except BadAudio as exc:
        assert str(exc) and "\n" not in str(exc)
    else:
        assert isinstance(decoded, Audio)
        assert all(np.all(np.isfinite(ch)) for ch in decoded.channels)
