"""The pull mode against a real sshd on loopback: the box fetches a FreePBX recording tree with
rsync over ssh, with its key and the PBX's pinned host key, queues only complete recordings,
each once and kept once (erased, it is gone and not fetched again), takes any file name safely,
and refuses a host whose key it does not know."""

from __future__ import annotations

import fcntl
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
from appliance.ops import erasure
from appliance.store import Store
from appliance.transcript.model import CallMeta
from support.processes import unavailable, wait_for

SOUNDS = "/usr/share/asterisk/sounds/en"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def pbx(tmp_path_factory):
    """A real sshd on 127.0.0.1 that lets two keys in: one to a shell, one pinned to a read-only
    rsync (rrsync, as docs/remote-asterisk.md sets it up) of the folder the PBX's trees lie in."""
    sshd = shutil.which("sshd", path="/usr/sbin:/usr/bin")
    if not sshd or not shutil.which("rsync") or not shutil.which("rrsync"):
        unavailable("sshd, rsync and rrsync are needed for the pull test (apt install openssh-server rsync)")
    folder = tmp_path_factory.mktemp("pbx-ssh")
    host_key, user_key, pinned_key = folder / "host_key", folder / "box_key", folder / "pinned_key"
    for key in (host_key, user_key, pinned_key):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    trees = folder / "trees"
    trees.mkdir()
    (folder / "authorized_keys").write_text(
        user_key.with_suffix(".pub").read_text()
        + f'command="{shutil.which("rrsync")} -ro {trees}",restrict {pinned_key.with_suffix(".pub").read_text()}')
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
        yield {"port": port, "key": user_key, "pinned_key": pinned_key, "known_hosts": known, "trees": trees}
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


@pytest.fixture
def tree(pbx, request):
    """This test's own monitor tree on the PBX."""
    path = pbx["trees"] / request.node.name.replace("[", "-").replace("]", "")
    path.mkdir()
    return path


def _recording(tree: Path, name: str | bytes, age: float) -> Path:
    """A recording of today on the PBX, `age` seconds old, its bytes its own (to find its copies)."""
    day = date.today()
    path = tree / f"{day:%Y}" / f"{day:%m}" / f"{day:%d}" / os.fsdecode(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(Path(f"{SOUNDS}/vm-intro.wav").read_bytes() + os.fsencode(name))
    _age(path, age)
    return path


def _age(path: Path, age: float) -> None:
    then = time.time() - age
    os.utime(path, (then, then))


def _copies(data_dir: Path, original: Path) -> list[Path]:
    """The files anywhere under the box's data folder with the bytes of a recording on the PBX."""
    content = original.read_bytes()
    return [path for path in data_dir.rglob("*")
            if path.is_file() and path.stat().st_size == len(content) and path.read_bytes() == content]


def _settings(make_settings, pbx, tree, pinned=False, **overrides):
    where = f"/{tree.name}" if pinned else str(tree)  # rrsync's paths are below the folder it serves
    values = {"pbx_pull_from": f"{getpass.getuser()}@127.0.0.1:{where}",
              "pbx_pull_key": pbx["pinned_key" if pinned else "key"],
              "pbx_pull_known_hosts": pbx["known_hosts"], "pbx_pull_port": pbx["port"],
              "spool_settle_seconds": 60, **overrides}  # a slow machine never makes a fresh file look done
    return make_settings(**values)


def test_the_box_pulls_only_complete_new_recordings_once(pbx, tree, make_settings, monkeypatch):
    monkeypatch.setenv("TZ", "Pacific/Kiritimati")  # UTC+14: the PBX's listed times are not read as local
    settings = _settings(make_settings, pbx, tree)
    store = Store.open(settings)
    done = _recording(tree, "in-201-+4930123456-20261203-091502-1796410000.1.wav", age=600)
    writing = _recording(tree, "in-202-+4930999-20261203-093000-1796410000.2.wav", age=0)  # still recording

    (first,) = pull(store, settings)
    call = store.calls.get(first)
    assert (call.uniqueid, call.caller, call.callee) == ("1796410000.1", "+4930123456", "201")
    assert len(_copies(settings.data_dir, done)) == 1  # on this box once: no mirror beside the import
    assert _copies(settings.data_dir, writing) == []  # nothing of a recording still being written
    assert pull(store, settings) == []  # nothing new: nothing queued again

    with open(writing, "ab") as more:
        more.write(b"the rest of the call")
    _age(writing, 600)  # the call ended
    (second,) = pull(store, settings)
    assert store.calls.get(second).uniqueid == "1796410000.2"
    assert len(_copies(settings.data_dir, writing)) == 1  # the whole recording, once
    assert pull(store, settings) == []
    assert done.exists() and writing.exists()  # nothing changed on the PBX


def test_what_an_interrupted_pull_left_is_never_imported(pbx, tree, make_settings):
    settings = _settings(make_settings, pbx, tree)
    store = Store.open(settings)
    recording = _recording(tree, "in-201-+4930123456-20261203-091502-1796410000.9.wav", age=600)
    half = settings.data_dir / "pull" / "staging" / recording.relative_to(tree)  # as a killed rsync leaves it
    half.parent.mkdir(parents=True)
    half.write_bytes(recording.read_bytes()[:1000])
    shutil.copystat(recording, half)

    assert len(pull(store, settings)) == 1
    (copy,) = _copies(settings.data_dir, recording)
    assert store.recordings.files(store.calls.page()[0].id) == (str(copy),)
    assert not half.parent.exists()


def test_an_erased_call_is_gone_from_the_box_and_not_pulled_again(pbx, tree, make_settings):
    settings = _settings(make_settings, pbx, tree)
    store = Store.open(settings)
    recording = _recording(tree, "in-201-+4930555777-20261203-091502-1796410000.3.wav", age=600)
    kept = _recording(tree, "in-201-+4930111222-20261203-101502-1796410000.4.wav", age=600)
    assert len(pull(store, settings)) == 2

    result = erasure.erase(store, settings, erasure.find(store, number="+4930555777"), actor="ada")
    assert len(result.deleted) == 1 and result.files_left == []
    assert _copies(settings.data_dir, recording) == []
    assert pull(store, settings) == []  # the PBX still has it: the box does not take it again
    assert pull(store, _settings(make_settings, pbx, tree, pinned=True)) == []  # nor when reached through rrsync
    assert _copies(settings.data_dir, recording) == []
    assert len(_copies(settings.data_dir, kept)) == 1
    assert recording.exists()


def test_hostile_file_names_are_imported_or_left_safely(pbx, tree, make_settings):
    settings = _settings(make_settings, pbx, tree, pinned=True)
    store = Store.open(settings)
    names = ["in-201-+49 30 123-20261203-091502-1796410000.5.wav",  # a space
             "in-201-+4930\nline-20261203-091502-1796410000.6.wav",  # a newline
             "-e sh x.wav", "--delete.wav", "--files-from=x.wav",  # options, were they arguments
             "back\\#134slash.wav", "\u00fcber.wav"]
    recordings = [_recording(tree, name, age=600) for name in names]
    foreign = _recording(tree, b"latin1-\xfc.wav", age=600)  # not UTF-8: the store cannot keep its name

    assert len(pull(store, settings)) == len(names)
    for recording in recordings:
        (copy,) = _copies(settings.data_dir, recording)
        assert copy.name == recording.name
    assert _copies(settings.data_dir, foreign) == []
    assert pull(store, settings) == []
    assert all(recording.exists() for recording in recordings)


def test_an_update_drops_the_mirror_and_keeps_what_it_took(pbx, tree, make_settings):
    """A box that pulled before kept a full mirror of the tree and imported copies of it: the
    mirror goes (with the audio of calls erased since), and no recording comes in twice."""
    settings = _settings(make_settings, pbx, tree)
    store = Store.open(settings)
    erased = _recording(tree, "in-201-+4930123456-20261203-091502-1796410000.7.wav", age=600)
    mirrored = settings.data_dir / "pull" / "monitor" / erased.relative_to(tree)
    mirrored.parent.mkdir(parents=True)
    shutil.copy2(erased, mirrored)
    store.intake.enqueue_import("freepbx", str(mirrored.resolve()), CallMeta(uniqueid="1796410000.7"), [mirrored])
    store.calls.delete(store.calls.page()[0].id)  # erased on the old version: the mirror kept it

    assert pull(store, settings) == []
    assert _copies(settings.data_dir, erased) == []
    fresh = _recording(tree, "in-201-+4930123456-20261203-101502-1796410000.8.wav", age=600)
    assert len(pull(store, settings)) == 1 and len(_copies(settings.data_dir, fresh)) == 1


def test_a_second_pull_while_one_runs_is_refused(pbx, tree, make_settings):
    settings = _settings(make_settings, pbx, tree)
    store = Store.open(settings)
    recording = _recording(tree, "in-201-+4930123456-20261203-091502-1796410000.10.wav", age=600)
    (settings.data_dir / "pull").mkdir(parents=True)
    with open(settings.data_dir / "pull" / ".lock", "w") as running:  # as the worker's pull holds it
        fcntl.flock(running, fcntl.LOCK_EX)
        with pytest.raises(ApplianceError, match="another pull"):
            pull(store, settings)
    assert _copies(settings.data_dir, recording) == []
    assert len(pull(store, settings)) == 1


@pytest.mark.parametrize("known", ["none", "another"])
def test_a_pbx_whose_host_key_is_unknown_or_another_is_refused(pbx, tree, make_settings, tmp_path, known):
    stranger = tmp_path / "known_hosts"
    other_key = pbx["key"].with_suffix(".pub").read_text()  # any key but the host's
    stranger.write_text("" if known == "none" else f"[127.0.0.1]:{pbx['port']} {other_key}")
    settings = _settings(make_settings, pbx, tree, pbx_pull_known_hosts=stranger)
    store = Store.open(settings)
    with pytest.raises(ApplianceError, match="(?i)host key|host identification"):
        pull(store, settings)
    assert store.calls.count() == 0
