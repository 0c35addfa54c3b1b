"""Live audio out of Asterisk: RTP on a loopback UDP socket, and the ARI calls that start it.

Why externalMedia RTP (not AudioSocket, not chan_websocket): it is the one way that works on a
channel that never enters our Stasis app — a snoop channel (spy=in or spy=out) plus an
externalMedia channel in a mixing bridge, all created over ARI, taps one direction of any call
(DESIGN.md, "Live audio out of Asterisk"). AudioSocket needs the dialplan to run
AudioSocket()/Dial(AudioSocket/...) on the call itself, so a dead appliance would be on the
call's path; chan_websocket would make the appliance a websocket server per stream and is new in
Asterisk 22 (less proven). RTP over UDP on loopback also never blocks Asterisk: if nobody reads,
the packets are simply dropped.

What Asterisk sends for format=slin16: 20 ms packets, 640-byte payloads of 16 kHz signed
linear in network byte order (big-endian). `RtpReceiver` turns them into exactly-20 ms int16
frames per source (each externalMedia channel sends from its own port, see
UNICASTRTP_LOCAL_PORT), so one socket can serve many streams, or one socket per stream.

    receiver = RtpReceiver()                                   # 127.0.0.1, a free port
    tap = start_tap(ari, channel_id, spy="in", app=APP, port=receiver.port)
    for frame in receiver.frames():                            # RtpFrame(source, ssrc, samples)
        ...
    tap.stop(ari); receiver.close()
"""

from __future__ import annotations

import logging
import select
import socket
import struct
import time
import uuid
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np

from appliance.asterisk.ari import Ari, AriError

log = logging.getLogger(__name__)

SAMPLE_RATE = 16000
FRAME_SAMPLES = SAMPLE_RATE // 50  # 20 ms
RTP_HEADER = struct.Struct("!BBHII")


@dataclass(frozen=True)
class RtpFrame:
    """20 ms of one stream: `samples` are FRAME_SAMPLES int16 (host order) at 16 kHz."""

    source: tuple[str, int]
    ssrc: int
    samples: np.ndarray


def parse_rtp(packet: bytes) -> tuple[int, int, bytes] | None:
    """(ssrc, sequence, payload) of an RTP packet, None for anything that is not RTP v2."""
    if len(packet) < RTP_HEADER.size:
        return None
    first, _marker_pt, sequence, _timestamp, ssrc = RTP_HEADER.unpack_from(packet)
    if first >> 6 != 2:
        return None
    offset = RTP_HEADER.size + 4 * (first & 0x0F)  # CSRC list
    if first & 0x10:  # header extension: 16-bit profile, 16-bit length in words
        if len(packet) < offset + 4:
            return None
        offset += 4 + 4 * struct.unpack_from("!H", packet, offset + 2)[0]
    end = len(packet)
    if first & 0x20 and end > offset:  # padding: the last byte says how much
        end -= packet[-1]
    if end < offset:
        return None
    return ssrc, sequence, packet[offset:end]


@dataclass
class _Stream:
    pending: bytearray = field(default_factory=bytearray)


class RtpReceiver:
    """A UDP socket on loopback that yields 20 ms slin16 frames per (source address, SSRC)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.sock.bind((host, port))
        self.host, self.port = self.sock.getsockname()
        self._streams: dict[tuple, _Stream] = {}
        self.closed = False

    def receive(self, timeout: float | None = 1.0) -> list[RtpFrame]:
        """Frames completed by the next packet (often one, none for a stray packet);
        an empty list after `timeout` seconds without a packet or once closed."""
        if self.closed:
            return []
        try:
            ready, _, _ = select.select([self.sock], [], [], timeout)
            if not ready:
                return []
            packet, source = self.sock.recvfrom(4096)
        except (OSError, ValueError):  # closed by another thread
            return []
        parsed = parse_rtp(packet)
        if parsed is None:
            return []
        ssrc, _sequence, payload = parsed
        # Loopback neither reorders nor loses in practice; Asterisk stamps every 20 ms, so the
        # payload is taken in arrival order and only re-cut into exact 20 ms frames.
        stream = self._streams.setdefault((source, ssrc), _Stream())
        stream.pending += payload
        frames = []
        size = FRAME_SAMPLES * 2
        while len(stream.pending) >= size:
            chunk = bytes(stream.pending[:size])
            del stream.pending[:size]
            frames.append(RtpFrame(source, ssrc, np.frombuffer(chunk, dtype=">i2").astype(np.int16)))
        return frames

    def frames(self, timeout: float = 1.0) -> Iterator[RtpFrame]:
        """Every frame until close(); idles in `timeout` steps so a closing thread notices."""
        while not self.closed:
            yield from self.receive(timeout)

    def forget(self, source: tuple[str, int]) -> None:
        """Drop the partial-frame buffers of a source that has ended."""
        for key in [k for k in self._streams if k[0] == source]:
            del self._streams[key]

    def close(self) -> None:
        self.closed = True
        self.sock.close()

    def __enter__(self) -> "RtpReceiver":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@dataclass(frozen=True)
class MediaTap:
    """The three ARI objects that copy one direction of a channel to an RTP port."""

    snoop_id: str
    media_id: str
    bridge_id: str
    # Where Asterisk sends from (UNICASTRTP_LOCAL_*): the key to demultiplex a shared socket.
    source: tuple[str, int] | None

    def stop(self, ari: Ari) -> None:
        """Tear the tap down; parts Asterisk already removed (the call hung up) are skipped."""
        for step in (lambda: ari.hangup(self.snoop_id), lambda: ari.hangup(self.media_id),
                     lambda: ari.destroy_bridge(self.bridge_id)):
            try:
                step()
            except AriError as exc:
                log.info("tearing down a live tap: %s", exc)


def _add_when_in_stasis(ari: Ari, bridge_id: str, *channel_ids: str, attempts: int = 40) -> None:
    """ARI answers 422 while a new channel has not yet entered the app (its StasisStart is
    still on the way); that takes milliseconds, so retry briefly instead of waiting for events."""
    for attempt in range(attempts):
        try:
            ari.add_to_bridge(bridge_id, *channel_ids)
            return
        except AriError as exc:
            if exc.status != 422 or attempt == attempts - 1:
                raise
            time.sleep(0.05)


def start_tap(ari: Ari, channel_id: str, *, spy: str, app: str, port: int,
              host: str = "127.0.0.1") -> MediaTap:
    """Snoop `spy` ("in": what the channel's party says; "out": what they hear) of a channel
    and send it as slin16 RTP to host:port. The snoop and media channels live in Stasis `app`
    (whose event socket must be connected); the call itself stays where it is. On failure the
    parts made so far are removed and AriError is raised."""
    made: list = []
    tag = uuid.uuid4().hex[:12]
    try:
        snoop = ari.snoop(channel_id, spy=spy, app=app, snoop_id=f"live-snoop-{spy}-{tag}")
        made.append(lambda: ari.hangup(snoop["id"]))
        media = ari.external_media(app=app, external_host=f"{host}:{port}", format="slin16",
                                   channel_id=f"live-media-{spy}-{tag}")
        made.append(lambda: ari.hangup(media["id"]))
        bridge = ari.create_bridge("mixing", bridge_id=f"live-bridge-{spy}-{tag}")
        made.append(lambda: ari.destroy_bridge(bridge["id"]))
        _add_when_in_stasis(ari, bridge["id"], snoop["id"], media["id"])
    except AriError:
        for undo in reversed(made):
            try:
                undo()
            except AriError:
                pass
        raise
    variables = media.get("channelvars") or {}
    source = None
    if variables.get("UNICASTRTP_LOCAL_PORT"):
        source = (variables.get("UNICASTRTP_LOCAL_ADDRESS") or host, int(variables["UNICASTRTP_LOCAL_PORT"]))
    return MediaTap(snoop["id"], media["id"], bridge["id"], source)
