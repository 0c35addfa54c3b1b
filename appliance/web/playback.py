"""Recordings as something a browser can play and seek: WAV, made once and cached.

A stereo WAV from MixMonitor is served as it is; raw `D` files, r()/t() pairs and telephone
codecs are decoded once into `data_dir/cache/playback/<call>.wav`. The URL names the call,
never a path, so no request can reach another file.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import soundfile

from appliance.audio import TARGET_RATE
from appliance.config import Settings
from appliance.ops.files import cache_path  # noqa: F401 - where the web finds it too
from appliance.pipeline import recording_audio

BROWSER_READY = {".wav"}


def playable_file(settings: Settings, call_id: int, files: tuple[str, ...], options: dict) -> Path:
    if len(files) == 1 and Path(files[0]).suffix.lower() in BROWSER_READY and _is_pcm_wav(files[0]):
        return Path(files[0])
    target = cache_path(settings, call_id)
    if target.exists():
        return target
    audio = recording_audio(files, settings, options)
    target.parent.mkdir(parents=True, exist_ok=True)
    # A partial file of this request's own: two first plays of one call may decode at once,
    # and a shared name would let one rename the other's file from under it.
    fd, partial = tempfile.mkstemp(dir=target.parent, prefix=f"{target.stem}.", suffix=".part")
    os.close(fd)
    try:
        frames = np.stack(audio.channels, axis=1)
        soundfile.write(partial, frames, TARGET_RATE, subtype="PCM_16", format="WAV")
        os.replace(partial, target)  # never serve a half-written file
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
    return target


def _is_pcm_wav(path: str) -> bool:
    try:
        return soundfile.info(path).subtype.startswith("PCM")
    except (soundfile.LibsndfileError, RuntimeError):
        return False
