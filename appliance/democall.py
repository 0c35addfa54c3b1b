"""Build a realistic two-party telephone call from real recorded voices.

Used for the demo call of the set-up command, the tests and the benchmarks. Two different
real speakers from Debian packages: Asterisk's prompt voice (asterisk-core-sounds-en-wav)
and a LibriVox reader (pocketsphinx-testdata). The mix is 8 kHz like a real call, can
overlap turns, and can leak each party into the other's channel (bleed/echo).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import soundfile

from appliance.errors import ApplianceError

ASTERISK_SOUNDS = Path("/usr/share/asterisk/sounds/en")
LIBRIVOX = Path("/usr/share/pocketsphinx/test/data/librivox")
CALL_RATE = 8000


@dataclass(frozen=True)
class Utterance:
    party: int  # 0 = caller (channel 0), 1 = callee (channel 1)
    path: Path
    text: str  # what is said, for checks and word error rates
    # Seconds after the previous utterance ends; negative overlaps it.
    gap: float = 0.7


def _librivox(number: str) -> Path:
    return LIBRIVOX / f"sense_and_sensibility_01_austen_64kb-{number}.wav"


# The caller is the LibriVox reader, the callee Asterisk's prompt voice.
DEMO_SCRIPT: tuple[Utterance, ...] = (
    Utterance(1, ASTERISK_SOUNDS / "vm-nobodyavail.wav", "Nobody is available to take your call at the moment."),
    Utterance(0, _librivox("0880"), "He was not an ill disposed young man."),
    Utterance(1, ASTERISK_SOUNDS / "tt-weasels.wav", "Weasels have eaten our phone system."),
    Utterance(0, _librivox("0890"), "Unless to be rather cold hearted and rather selfish is to be ill disposed."),
    Utterance(1, ASTERISK_SOUNDS / "privacy-prompt.wav", "Please enter your phone number, starting with the area code."),
    # The caller starts before the callee has finished: overlapping speech.
    Utterance(0, _librivox("0930"), "He might even have been made amiable himself.", gap=-0.8),
    Utterance(1, ASTERISK_SOUNDS / "queue-periodic-announce.wav",
              "All of our representatives are currently busy. Please stay on the line, "
              "and your call will be answered by the next available representative."),
    Utterance(0, _librivox("0870"), "And Mister John Dashwood had then leisure to consider how much there "
              "might be prudently in his power to do for them."),
)


def missing_sources(script: Sequence[Utterance] = DEMO_SCRIPT) -> list[Path]:
    return [u.path for u in script if not u.path.is_file()]


def read_voice(path: Path) -> np.ndarray:
    samples, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    samples = samples[:, 0]
    if rate != CALL_RATE:
        import soxr

        samples = soxr.resample(samples, rate, CALL_RATE)
    return samples


def mix_call(
    script: Sequence[Utterance] = DEMO_SCRIPT,
    *,
    bleed_db: float | None = -24.0,
    echo_delay: float = 0.04,
    lead_in: float = 0.5,
) -> np.ndarray:
    """The call as an (n, 2) float32 array at 8 kHz: channel 0 the caller, 1 the callee."""
    missing = missing_sources(script)
    if missing:
        raise ApplianceError(
            f"demo voices missing ({missing[0]}): apt-get install asterisk-core-sounds-en-wav pocketsphinx-testdata"
        )
    voices = [read_voice(u.path) for u in script]
    starts, cursor = [], lead_in
    for utterance, voice in zip(script, voices):
        start = max(0.0, cursor + utterance.gap) if starts else lead_in
        starts.append(start)
        cursor = start + len(voice) / CALL_RATE
    total = int((max(s + len(v) / CALL_RATE for s, v in zip(starts, voices)) + 0.5) * CALL_RATE)
    call = np.zeros((total, 2), dtype=np.float32)
    for utterance, voice, start in zip(script, voices, starts):
        offset = int(start * CALL_RATE)
        call[offset: offset + len(voice), utterance.party] += voice
    if bleed_db is not None:
        # Each party leaks, delayed and attenuated, into the other's channel.
        delay = int(echo_delay * CALL_RATE)
        gain = 10 ** (bleed_db / 20)
        leaked = np.zeros_like(call)
        leaked[delay:, 0] = call[: total - delay, 1] * gain
        leaked[delay:, 1] = call[: total - delay, 0] * gain
        call += leaked
    return np.clip(call, -1.0, 1.0)


def to_int16(call: np.ndarray) -> np.ndarray:
    return (call * 32767).astype("<i2")


def write_stereo_wav(call: np.ndarray, path: Path) -> Path:
    soundfile.write(str(path), to_int16(call), CALL_RATE, subtype="PCM_16")
    return path


def write_mixmonitor_raw(call: np.ndarray, path: Path) -> Path:
    """MixMonitor's `D` option: interleaved 2-channel signed-linear, no header."""
    to_int16(call).tofile(path)
    return path


def write_mixmonitor_pair(call: np.ndarray, base: Path) -> tuple[Path, Path]:
    """MixMonitor's `r()`/`t()` options: one mono file per direction."""
    paths = (base.with_name(base.name + "-rx.wav"), base.with_name(base.name + "-tx.wav"))
    for channel, path in enumerate(paths):
        soundfile.write(str(path), to_int16(call[:, channel]), CALL_RATE, subtype="PCM_16")
    return paths

