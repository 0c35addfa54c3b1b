"""A real Asterisk 22 for the end-to-end tests, in a Debian sid root (DESIGN.md).

`bin/asterisk-test-root` builds the root once; this module installs the appliance's own
configuration into it (plus the test dialplan in tests/asterisk/), starts `asterisk -f` in it
and stops it. The appliance runs on the host and sees the root's spool and voicemail folders
directly (a chroot shares the file system and loopback), so no mounts are needed.
"""

from __future__ import annotations

import fcntl
import os
import random
import re
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile

from appliance import democall
from appliance.asterisk.install import render_config
from appliance.ivr.dialplan import menu_contexts
from appliance.config import PROJECT_ROOT
from support.processes import unavailable

ROOT = Path(os.environ.get("APPLIANCE_ASTERISK_ROOT", "/var/cache/appliance-test/asterisk-root"))
TEST_DIALPLAN = Path(__file__).parent.parent / "asterisk" / "extensions_local.conf"
# Not the defaults, so a test Asterisk never collides with a real one on the machine.
PORTS = {"asterisk_ami_port": 15038, "asterisk_http_port": 18088, "sip_bind": "127.0.0.1:15060",
         "sip_media_address": "127.0.0.1"}
SIP = PORTS["sip_bind"]  # Asterisk's pjsip transport in the test root (host:port)
SPOOL_INSIDE = Path("/var/spool/appliance-test")
SOUNDS_INSIDE = Path("/usr/share/asterisk/sounds/appliance-test")


@dataclass
class Asterisk:
    root: Path
    process: subprocess.Popen
    lock: object = None  # held while this Asterisk runs: one root, one Asterisk at a time

    def rx(self, command: str) -> str:
        result = subprocess.run(["chroot", str(self.root), "asterisk", "-rx", command],
                                capture_output=True, text=True, timeout=30)
        return result.stdout

    @property
    def spool(self) -> Path:
        return self.root / SPOOL_INSIDE.relative_to("/")

    @property
    def sounds(self) -> Path:
        return self.root / SOUNDS_INSIDE.relative_to("/")

    @property
    def voicemail(self) -> Path:
        return self.root / "var/spool/asterisk/voicemail"

    def add_sound(self, name: str, source: Path) -> str:
        """Put a voice file where Playback() finds it (Asterisk's .wav is 8 kHz 16-bit mono);
        returns the name to play."""
        self.sounds.mkdir(parents=True, exist_ok=True)
        samples = democall.read_voice(source)
        soundfile.write(str(self.sounds / f"{name}.wav"), democall.to_int16(samples), democall.CALL_RATE)
        return f"appliance-test/{name}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.rx("core stop now")
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.lock is not None:
            self.lock.close()
            self.lock = None


def words(text: str) -> str:
    return re.sub(r"[^\w ]+", " ", text.lower())


def by_role(transcript) -> dict[str, str]:
    """Each speaker role's words, normalised: where did what was said land?"""
    return {s.role: words(" ".join(t.text for t in transcript.turns if t.speaker == s.index))
            for s in transcript.speakers}


def settings_overrides(root: Path) -> dict:
    return {**PORTS, "spool_dir": root / SPOOL_INSIDE.relative_to("/"),
            "voicemail_dir": root / "var/spool/asterisk/voicemail"}


def start_asterisk(settings) -> Asterisk:
    if os.geteuid() != 0:
        unavailable("the Asterisk root needs root (chroot)")
    build = subprocess.run([str(PROJECT_ROOT / "bin" / "asterisk-test-root"), str(ROOT)],
                           capture_output=True, text=True)
    if build.returncode != 0:
        unavailable(f"cannot build the Asterisk root: {build.stdout[-500:]} {build.stderr[-500:]}")
    # Two pytest runs on one machine (a developer's and a helper's) would share the root and
    # its ports: the second waits here until the first has stopped its Asterisk.
    lock = open(ROOT.parent / "asterisk-root.lock", "w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    subprocess.run(["chroot", str(ROOT), "asterisk", "-rx", "core stop now"], capture_output=True)
    etc = ROOT / "etc/asterisk"
    render_config(settings, etc, menus=menu_contexts(settings), spool_for_asterisk=SPOOL_INSIDE)
    shutil.copy(TEST_DIALPLAN, etc / "extensions_local.conf")
    spool = ROOT / SPOOL_INSIDE.relative_to("/")
    shutil.rmtree(spool, ignore_errors=True)
    (spool / "recording").mkdir(parents=True)
    shutil.rmtree(ROOT / "var/spool/asterisk/voicemail/default", ignore_errors=True)
    log = open(settings.data_dir / "asterisk.log", "w")
    process = subprocess.Popen(["chroot", str(ROOT), "asterisk", "-f", "-n"], stdout=log,
                               stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    log.close()
    asterisk = Asterisk(ROOT, process, lock)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            unavailable(f"Asterisk exited at start (see {settings.data_dir / 'asterisk.log'})")
        if "fully booted" in asterisk.rx("core waitfullybooted").lower():
            return asterisk
        time.sleep(0.5)
    asterisk.stop()
    unavailable("Asterisk did not finish booting within 60 s")


_HANDED_OUT: set[int] = set()  # ports given to phones not started yet may look free again


def _free_port(low: int, high: int, probes: tuple[tuple[int, int], ...]) -> int:
    """A port P in [low, high) where each (socket kind, offset) of `probes` binds on 127.0.0.1,
    never one handed out before in this process. Below the kernel's ephemeral range (32768 on),
    where the other tests' connections cannot take it between this probe and the phone's bind."""
    while True:
        port = random.randrange(low, high, 2)
        if port in _HANDED_OUT:
            continue
        try:
            for kind, offset in probes:
                with socket.socket(socket.AF_INET, kind) as probe:
                    probe.bind(("127.0.0.1", port + offset))
        except OSError:
            continue
        _HANDED_OUT.add(port)
        return port


def free_sip_port() -> int:
    """A port P for baresip's sip_listen: it binds UDP and TCP on P and TLS on TCP P+1."""
    return _free_port(20000, 32000, ((socket.SOCK_DGRAM, 0), (socket.SOCK_STREAM, 0), (socket.SOCK_STREAM, 1)))


def free_console_port() -> int:
    """A UDP port for baresip's cons module (phone_command). From the ephemeral range, as this
    once was, another process took it before baresip bound it: the phone then ignored every
    command ("cons: failed to listen ... Address already in use") and the call never moved."""
    return _free_port(32000, 32700, ((socket.SOCK_DGRAM, 0),))


def voice_track(parts: list[tuple[float, Path]], seconds: float, out: Path) -> Path:
    """A wav of `seconds` of silence with each (start second, voice file) laid in: what a phone
    says through a whole call (pass it to baresip_phone with no padding)."""
    audio = np.zeros(int(seconds * democall.CALL_RATE), np.float32)
    for start, voice in parts:
        at = int(start * democall.CALL_RATE)
        samples = democall.read_voice(voice)[: max(0, len(audio) - at)]
        audio[at: at + len(samples)] = samples
    soundfile.write(str(out), democall.to_int16(audio), democall.CALL_RATE, subtype="PCM_16")
    return out


def baresip_phone(folder: Path, number: str, password: str, voice: Path, seconds_after: float,
                  seconds_before: float = 0.5, answers: bool = False, console: int | None = None) -> Path:
    """A baresip configuration for phone `number` that says `voice` after `seconds_before`,
    then stays silent for `seconds_after` (baresip hangs up when its source file ends).
    A phone that `answers` registers with Asterisk and picks up every call at once; one with a
    `console` port takes commands mid-call from phone_command()."""
    if not shutil.which("baresip"):
        unavailable("baresip is not installed (bin/install --test installs it)")
    folder.mkdir(parents=True, exist_ok=True)
    samples = democall.read_voice(voice)  # 8 kHz mono: what baresip's PCMU stream wants
    rate = democall.CALL_RATE
    padded = np.concatenate([np.zeros(int(seconds_before * rate), np.float32), samples,
                             np.zeros(int(seconds_after * rate), np.float32)])
    source = folder / "caller.wav"
    soundfile.write(str(source), democall.to_int16(padded), rate, subtype="PCM_16")
    # No stdio module: the tests give baresip no terminal (it refuses stdin from /dev/null);
    # -e commands reach the menu module without it. baresip 1.0 has no file player: what the
    # phone hears is played nowhere (it is in Asterisk's recording anyway).
    (folder / "config").write_text(
        "poll_method\tepoll\n"
        f"sip_listen\t127.0.0.1:{free_sip_port()}\n"
        f"audio_source\taufile,{source}\n"
        f"audio_alert\taufile,{source}\n"
        "audio_player\taufile,/dev/null\n"
        "module_path\t/usr/lib/baresip/modules\n"
        "module\tg711.so\n"
        "module\taufile.so\n"
        "module_app\taccount.so\n"
        "module_app\tmenu.so\n"
        + (f"module\tcons.so\ncons_listen\t127.0.0.1:{console}\n" if console else "")
    )
    account = ";answermode=auto;regint=60" if answers else ";regint=0"
    (folder / "accounts").write_text(f"<sip:{number}@{SIP}>;auth_pass={password}{account}\n")
    return folder


def phone_command(console: int, command: str) -> None:
    """Types `command` (e.g. "/transfer sip:102@HOST") into the baresip phone on that console port."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.sendto(command.encode() + b"\n", ("127.0.0.1", console))
