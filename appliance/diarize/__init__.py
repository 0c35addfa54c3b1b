"""Speaker sources: who speaks in which part of a recording.

`channels` (stereo, one party per channel) is exact and cheap; mono recordings get their
speakers from `pyannote` or `embedded` (see `source.py`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from appliance.transcript.model import Speaker


@dataclass(frozen=True)
class Track:
    """The audio of one speaker, aligned to the recording's timeline (16 kHz float32)."""

    speaker: Speaker
    samples: np.ndarray
