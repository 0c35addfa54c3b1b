"""Recordings in: decode, validate, split into channels, resample to 16 kHz float32.

Accepted inputs (DESIGN.md, "Contracts"):
- WAV / FLAC / OGG and anything else libsndfile reads; anything else FFmpeg (PyAV) decodes;
- MixMonitor's header-less signed-linear files (`.raw`, `.sln`, `.sln16`, ...), mono or the
  2-channel interleaved stream written with the `D` option;
- MixMonitor `r()`/`t()` pairs: two mono files, one per direction.

Every way a file can be unusable becomes a `BadAudio` with a message a person can act on.
Sizes are checked from headers before samples are read, so a huge file costs no memory.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import soundfile

from appliance.errors import BadAudio

TARGET_RATE = 16000
MIN_RATE = 8000
MAX_RATE = 192000
# Peak below this (about -90 dBFS) on every channel: nothing was captured at all.
DIGITAL_SILENCE_PEAK = 3e-5

# Asterisk's signed-linear formats: the extension names the rate (format_sln.c).
_SLN_EXTENSION = re.compile(r"^\.(raw|sln|slin)(\d+)?$")
# Asterisk's other header-less formats, decoded by FFmpeg with the demuxer named here.
_FFMPEG_RAW_FORMATS = {".ulaw": "mulaw", ".ul": "mulaw", ".pcm": "mulaw", ".alaw": "alaw",
                       ".al": "alaw", ".gsm": "gsm", ".g722": "g722"}


@dataclass(frozen=True)
class Audio:
    """Decoded audio: one float32 array per channel at `TARGET_RATE`."""

    channels: tuple[np.ndarray, ...]
    source_rate: int
    source: str

    @property
    def sample_rate(self) -> int:
        return TARGET_RATE

    @property
    def duration(self) -> float:
        return len(self.channels[0]) / TARGET_RATE

    def mixdown(self) -> np.ndarray:
        return np.mean(np.stack(self.channels), axis=0).astype(np.float32)


@dataclass(frozen=True)
class DecodeOptions:
    raw_sample_rate: int = 8000
    raw_channels: int = 2
    max_duration_seconds: float = 4 * 3600.0


def load_recording(paths: Sequence[Path | str], options: DecodeOptions = DecodeOptions()) -> Audio:
    """Decode one recording (one file, or an r()/t() pair of mono files)."""
    paths = [Path(p) for p in paths]
    if len(paths) == 1:
        channels, rate = _decode_file(paths[0], options)
        if len(channels) > 2:
            raise BadAudio(
                f"{paths[0].name}: {len(channels)} channels; expected 1 (mono) or 2 (one party per channel)",
                "audio-channels", file=paths[0].name, channels=len(channels),
            )
    elif len(paths) == 2:
        decoded = [_decode_file(p, options, expect_mono=True) for p in paths]
        # Each file may have its own rate, so the pair is resampled before it is aligned.
        channels = _pad_to_same_length([_resample(ch[0], rate) for ch, rate in decoded])
        return _finish(channels, decoded[0][1], " + ".join(p.name for p in paths), options, resampled=True)
    else:
        raise BadAudio(f"expected one recording file or an r()/t() pair, got {len(paths)} files", "audio-files",
                       files=len(paths))
    return _finish(channels, rate, paths[0].name, options)


def _finish(channels, rate, source, options, resampled=False) -> Audio:
    if not resampled:
        channels = [_resample(ch, rate) for ch in channels]
    if not channels or len(channels[0]) == 0:
        raise BadAudio(f"{source}: contains no audio samples", "audio-no-samples", file=source)
    for ch in channels:
        if not np.all(np.isfinite(ch)):
            raise BadAudio(f"{source}: contains invalid samples (NaN or infinity); the file is damaged",
                           "audio-invalid-samples", file=source)
    if max(float(np.max(np.abs(ch))) for ch in channels) < DIGITAL_SILENCE_PEAK:
        raise BadAudio(
            f"{source}: no sound at all (every sample is zero); the call's audio was not captured",
            "audio-silent", file=source,
        )
    return Audio(channels=tuple(np.ascontiguousarray(ch, dtype=np.float32) for ch in channels),
                 source_rate=rate, source=source)


def _decode_file(path: Path, options: DecodeOptions, expect_mono: bool = False):
    if path.is_dir():
        raise BadAudio(f"{path}: is a folder, not a recording file", "audio-folder", file=str(path))
    if not path.is_file():
        raise BadAudio(f"{path}: file not found", "audio-missing", file=str(path))
    size = path.stat().st_size
    if size == 0:
        raise BadAudio(f"{path.name}: file is empty (0 bytes)", "audio-empty-file", file=path.name)
    suffix = path.suffix.lower()
    sln = _SLN_EXTENSION.match(suffix)
    if sln:
        channels_in_file = 1 if expect_mono else options.raw_channels
        channels, rate = _decode_signed_linear(path, size, sln, channels_in_file, options)
    elif suffix in _FFMPEG_RAW_FORMATS:
        channels, rate = _decode_with_ffmpeg(path, options, _FFMPEG_RAW_FORMATS[suffix])
    else:
        channels, rate = _decode_with_libsndfile(path, options)
    if expect_mono and len(channels) != 1:
        raise BadAudio(f"{path.name}: an r()/t() file must be mono, it has {len(channels)} channels",
                       "audio-pair-not-mono", file=path.name, channels=len(channels))
    return channels, rate


def _check_rate(name: str, rate: int) -> None:
    if not MIN_RATE <= rate <= MAX_RATE:
        raise BadAudio(
            f"{name}: sample rate {rate} Hz is not supported (expected {MIN_RATE}–{MAX_RATE} Hz)",
            "audio-rate", file=name, rate=rate, low=MIN_RATE, high=MAX_RATE,
        )


def _check_duration(name: str, seconds: float, options: DecodeOptions) -> None:
    if seconds > options.max_duration_seconds:
        raise BadAudio(
            f"{name}: recording is {_hms(seconds)} long; the limit is "
            f"{_hms(options.max_duration_seconds)} (setting max_duration_seconds)",
            "audio-too-long", file=name, length=_hms(seconds), limit=_hms(options.max_duration_seconds),
        )


def _decode_signed_linear(path, size, match, channels_in_file, options):
    if match.group(2):
        rate = int(match.group(2)) * 1000
        # Asterisk names 44.1 kHz ".sln44"; it is not 44000.
        rate = {44000: 44100}.get(rate, rate)
        if match.group(1) == "raw":
            raise BadAudio(f"{path.name}: unknown raw format {path.suffix!r}; use .sln16, .sln48, ...",
                           "audio-raw-format", file=path.name, suffix=path.suffix)
    else:
        rate = options.raw_sample_rate
    _check_rate(path.name, rate)
    frame_bytes = 2 * channels_in_file
    if size % frame_bytes:
        layout = "2-channel (MixMonitor D)" if channels_in_file == 2 else "mono"
        raise BadAudio(
            f"{path.name}: {size} bytes is not a whole number of 16-bit {layout} frames; "
            "the file is truncated or is not signed-linear audio",
            "audio-truncated", file=path.name, size=size,
        )
    _check_duration(path.name, size / frame_bytes / rate, options)
    samples = np.fromfile(path, dtype="<i2").astype(np.float32) / 32768.0
    frames = samples.reshape(-1, channels_in_file)
    return [frames[:, i] for i in range(channels_in_file)], rate


def _decode_with_libsndfile(path: Path, options: DecodeOptions):
    try:
        info = soundfile.info(str(path))
    except (soundfile.LibsndfileError, RuntimeError, ValueError):
        with path.open("rb") as fh:
            head = fh.read(12)
        if head[:4] in (b"RIFF", b"RIFX", b"RF64") and head[8:12] == b"WAVE":
            raise BadAudio(f"{path.name}: the WAV header is truncated or damaged", "audio-wav-header",
                           file=path.name) from None
        return _decode_with_ffmpeg(path, options)
    _check_rate(path.name, info.samplerate)
    if info.frames <= 0:
        raise BadAudio(f"{path.name}: contains no audio samples", "audio-no-samples", file=path.name)
    _check_duration(path.name, info.frames / info.samplerate, options)
    try:
        data, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError, ValueError) as exc:
        raise BadAudio(f"{path.name}: the audio data is damaged ({exc})", "audio-damaged", file=path.name,
                       detail=str(exc)) from None
    return [data[:, i] for i in range(data.shape[1])], rate


def _decode_with_ffmpeg(path: Path, options: DecodeOptions, demuxer: str | None = None):
    import av  # PyAV bundles FFmpeg; imported here because most recordings never need it

    open_options = {"sample_rate": "8000"} if demuxer in ("mulaw", "alaw") else {}
    try:
        with av.open(str(path), format=demuxer, options=open_options) as container:
            if not container.streams.audio:
                raise BadAudio(f"{path.name}: has no audio stream", "audio-no-stream", file=path.name)
            stream = container.streams.audio[0]
            rate = stream.codec_context.sample_rate or stream.rate
            if not rate:
                raise BadAudio(f"{path.name}: the sample rate is unknown", "audio-rate-unknown", file=path.name)
            _check_rate(path.name, rate)
            if stream.duration and stream.time_base:
                _check_duration(path.name, float(stream.duration * stream.time_base), options)
            chunks = []
            decoded_samples = 0
            limit = options.max_duration_seconds * rate
            for frame in container.decode(stream):
                array = frame.to_ndarray()
                if array.dtype.kind == "i":
                    array = array.astype(np.float32) / float(np.iinfo(array.dtype).max + 1)
                if not frame.format.is_planar:
                    array = array.reshape(-1, len(frame.layout.channels)).T
                chunks.append(array.astype(np.float32))
                decoded_samples += array.shape[1]
                if decoded_samples > limit:
                    _check_duration(path.name, decoded_samples / rate, options)
    except BadAudio:
        raise
    except (av.error.FFmpegError, ValueError, OSError, IndexError) as exc:
        raise BadAudio(f"{path.name}: not an audio file this appliance can decode ({_first_line(exc)})",
                       "audio-undecodable", file=path.name, detail=_first_line(exc)) from None
    if not chunks:
        raise BadAudio(f"{path.name}: contains no audio samples", "audio-no-samples", file=path.name)
    data = np.concatenate(chunks, axis=1)
    return [data[i] for i in range(data.shape[0])], rate


def _resample(samples: np.ndarray, rate: int) -> np.ndarray:
    if rate == TARGET_RATE:
        return samples.astype(np.float32, copy=False)
    import soxr  # small, but only the non-16 kHz paths need it

    return soxr.resample(samples.astype(np.float32), rate, TARGET_RATE, quality="HQ")


def _pad_to_same_length(channels: list[np.ndarray]) -> list[np.ndarray]:
    # r() and t() files of one call can differ by a few frames; silence fills the shorter.
    length = max(len(ch) for ch in channels)
    return [np.pad(ch, (0, length - len(ch))) for ch in channels]


def _hms(seconds: float) -> str:
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {secs:02d} s"


def _first_line(exc: Exception) -> str:
    # FFmpeg errors read "[Errno N] Invalid data found when processing input: '/path'".
    text = getattr(exc, "strerror", None) or str(exc)
    lines = text.strip().splitlines()
    return lines[0] if lines else type(exc).__name__
