"""When audio counts as heard: one "listen" audit entry per playback session, with what it
covered.

A player fetches one recording in many Range requests (start, seeks, re-buffering). The call
page gives each player a session key (`?play=`); requests of one user, call and key within
WINDOW_SECONDS of each other are one playback, and a request adds an entry only when it
reaches bytes that playback has not logged yet. A request without a key (a download, a
script) is logged every time. Nothing is logged for the page, a HEAD or a refused range:
only audio actually sent.
"""

from __future__ import annotations

import threading
import time

from appliance.web.ranges import ByteRange

WINDOW_SECONDS = 30 * 60
MAX_SESSIONS = 10_000  # past this the oldest are forgotten (they log again: never too little)


class Listens:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sessions: dict[tuple, tuple[float, list[ByteRange]]] = {}

    def new_ranges(self, user: str, call_id: int, key: str | None, served: ByteRange) -> bool:
        """True when `served` is news for this playback session (write an entry)."""
        if not key:
            return True
        now = time.monotonic()
        with self._lock:
            self._forget_before(now - WINDOW_SECONDS)
            _, covered = self._sessions.pop((user, call_id, key), (now, []))
            news = not any(r.start <= served.start and served.end <= r.end for r in covered)
            self._sessions[(user, call_id, key)] = (now, _merged([*covered, served]))
            return news

    def _forget_before(self, oldest: float) -> None:
        # Insertion order is last-use order (each use re-inserts), so the stale are in front.
        for session, (seen, _) in list(self._sessions.items()):
            if seen >= oldest and len(self._sessions) < MAX_SESSIONS:
                return
            del self._sessions[session]


def _merged(ranges: list[ByteRange]) -> list[ByteRange]:
    out: list[ByteRange] = []
    for r in sorted(ranges, key=lambda r: r.start):
        if out and r.start <= out[-1].end + 1:
            out[-1] = ByteRange(out[-1].start, max(out[-1].end, r.end))
        else:
            out.append(r)
    return out


def seconds(info, size: int, served: ByteRange) -> tuple[float, float]:
    """The stretch of the recording (seconds) a byte range of its WAV file holds; `info` is
    soundfile's. The PCM data ends the file, after its header."""
    width = _sample_bytes(info.subtype) * info.channels
    data = info.frames * width
    header, rate = size - data, info.samplerate * width
    return (min(data, max(0, served.start - header)) / rate, min(data, max(0, served.end + 1 - header)) / rate)


def _sample_bytes(subtype: str) -> int:
    return {"PCM_U8": 1, "PCM_S8": 1, "PCM_16": 2, "PCM_24": 3, "PCM_32": 4}.get(subtype, 2)
