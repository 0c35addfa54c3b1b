"""The pull mode against a real sshd on loopback: the box fetches a FreePBX recording tree with
rsync over ssh, with its key and the PBX's pinned host key, queues only complete recordings,
each once, and refuses a host whose key it does not know."""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import time
from datetime import date
from pathlib import Path

import pytest

from appliance.errors import ApplianceError
from appliance.jobs.pull import pull
from appliance.store import Store
from support.processes import unavailable, wait_for

SOUNDS = "/usr/share/asterisk/sounds/en"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def pbx(tmp_path_factory):
    """A real sshd on 127.0.0.1 that lets one key in, and the PBX's monitor tree it serves."""
    sshd = shutil.which("sshd", path="/usr/sbin:/usr/bin")
    if not sshd or not shutil.which("rsync"):
        unavailable("sshd and rsync are needed for the pull test (apt install openssh-server rsync)")
    folder = tmp_path_factory.mktemp("pbx-ssh")
    host_key, user_key = folder / "host_key", folder / "box_key"
    for key in (host_key, user_key):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    (folder / "authorized_keys").write_text(user_key.with_suffix(".pub").read_text())
    port = _free_port()
    config = folder / "sshd_config"
    config.write_text(f"Port {port}\nListenAddress 127.0.0.1\nHostKey {host_key}\nPidFile {folder / 'sshd.pid'}\n"
                      f"AuthorizedKeysFile {folder / 'authorized_keys'}\nPasswordAuthentication no\n"
                      "KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\nPermitRootLogin prohibit-password\n")
    Path("/run/sshd").mkdir(exist_ok=True)  # sshd's privilege-separation folder
    log = open(folder / "sshd.log", "w")
    process = subprocess.Popen([sshd, "-D", "-e", "-f", str(config)], stdout=log, stderr=subprocess.STDOUT)
    try:
        def listening() -> bool:
            with socket.socket() as probe:
                return probe.connect_ex(("127.0.0.1", port)) == 0 or process.poll() is not None
        wait_for(listening, "sshd to listen")
        assert process.poll() is None, (folder / "sshd.log").read_text()
        known = folder / "known_hosts"
        known.write_text(f"[127.0.0.1]:{port} {host_key.with_suffix('.pub').read_text()}")
        yield {"port": port, "key": user_key, "known_hosts": known, "tree": folder / "monitor"}
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def _recording(tree: Path, stem: str, age: float) -> Path:
    day = date.today()
    path = tree / f"{day:%Y}" / f"{day:%m}" / f"{day:%d}" / f"{stem}.wav"
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(f"{SOUNDS}/vm-intro.wav", path)
    then = time.time() - age
    os.utime(path, (then, then))
    return path


def _settings(make_settings, pbx, **overrides):
    values = {"pbx_pull_from": f"{getpass.getuser()}@127.0.0.1:{pbx['tree']}", "pbx_pull_key": pbx["key"],
              "pbx_pull_known_hosts": pbx["known_hosts"], "pbx_pull_port": pbx["port"],
              "spool_settle_seconds": 60, **overrides}  # a slow machine never makes a fresh file look done
    return make_settings(**values)


def test_the_box_pulls_only_complete_new_recordings_once(pbx, make_settings):
    settings = _settings(make_settings, pbx)
    store = Store.open(settings)
    done = _recording(pbx["tree"], "in-201-+4930123456-20261203-091502-1796410000.1", age=600)
    writing = _recording(pbx["tree"], "in-202-+4930999-20261203-093000-1796410000.2", age=0)  # still recording

    (first,) = pull(store, settings)
    call = store.calls.get(first)
    assert (call.uniqueid, call.caller, call.callee) == ("1796410000.1", "+4930123456", "201")
    assert pull(store, settings) == []  # nothing new: nothing queued again

    then = time.time() - 600
    os.utime(writing, (then, then))  # the call ended
    (second,) = pull(store, settings)
    assert store.calls.get(second).uniqueid == "1796410000.2"
    assert pull(store, settings) == []
    assert done.exists() and writing.exists()  # nothing changed on the PBX


@pytest.mark.parametrize("known", ["none", "another"])
def test_a_pbx_whose_host_key_is_unknown_or_another_is_refused(pbx, make_settings, tmp_path, known):
    stranger = tmp_path / "known_hosts"
    other_key = pbx["key"].with_suffix(".pub").read_text()  # any key but the host's
    stranger.write_text("" if known == "none" else f"[127.0.0.1]:{pbx['port']} {other_key}")
    settings = _settings(make_settings, pbx, pbx_pull_known_hosts=stranger)
    store = Store.open(settings)
    with pytest.raises(ApplianceError, match="(?i)host key|host identification"):
        pull(store, settings)
    assert store.calls.count() == 0
