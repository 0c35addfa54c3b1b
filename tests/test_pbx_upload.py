"""A PBX on another machine uploads its recordings through the shell hook (curl only), against a
real `appliance serve`: a good upload is queued once with the metadata of its FreePBX name and
transcribed; a wrong or revoked token, an oversized file, a truncated upload, a checksum that
does not match and a hostile name are refused, leaving nothing behind; an upload that could not
be sent waits in the PBX's pending queue and goes with --pending."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import socket
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile

from support.processes import wait_for
from support.served import ROOT, start_served, stop_served

HOOK = ROOT / "asterisk-config" / "appliance-upload"
PROMPT = Path("/usr/share/asterisk/sounds/en/conf-getchannel.wav")  # "... enter the channel number ..."
LIMIT_MB = 1
FREEPBX_NAME = "in-200-+4930123456-20261202-091502-1764663302.17.wav"


@pytest.fixture(scope="module")
def box(tmp_path_factory, models_dir):
    for tool in ("curl", "sha256sum"):
        assert shutil.which(tool), f"{tool} is needed by the PBX's upload hook (apt install curl coreutils)"
    running = start_served(tmp_path_factory.mktemp("pbx-box"),
                           {"PBX_UPLOAD_MAX_MB": str(LIMIT_MB), "MODELS_DIR": str(models_dir)})
    try:
        token = re.search(r"token \(shown once\): (\S+)", running.cli("pbx", "add", "freepbx1",
                                                                       "--timezone", "Europe/Berlin").stdout)[1]
        running.token = token
        yield running
    finally:
        stop_served(running)


def pbx_conf(folder: Path, url: str, token: str) -> dict[str, str]:
    """The PBX side: the hook's settings file and environment."""
    folder.mkdir(parents=True, exist_ok=True)
    conf = folder / "appliance-upload.conf"
    conf.write_text(f"URL={url}\nTOKEN={token}\nPENDING={folder / 'pending'}\n")
    return {"PATH": os.environ["PATH"], "APPLIANCE_UPLOAD_CONF": str(conf)}


def hook(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["sh", str(HOOK), *args], env=env, capture_output=True, text=True, timeout=120)


def pbx_recording(folder: Path, name: str, seconds: float | None = None) -> Path:
    """A recording as FreePBX writes it: mono 8 kHz WAV (real speech, or noise of a given length)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    if seconds is None:
        shutil.copyfile(PROMPT, path)
    else:
        noise = np.random.default_rng(7).normal(0, 0.1, int(8000 * seconds))
        soundfile.write(str(path), noise, 8000, subtype="PCM_16")
    return path


def uploaded_calls(box) -> list:
    with box.store() as store:
        return [call for call in store.calls.page(limit=1000) if call.uniqueid not in ("served-own", "served-other")]


def imports(box) -> list[Path]:
    """Every file under the box's PBX import folders, half-received bodies included."""
    root = box.data_dir / "imports" / "pbx"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_a_freepbx_recording_is_queued_once_with_its_call_and_transcribed(box, tmp_path):
    env = pbx_conf(tmp_path / "pbx", box.url, box.token)
    recording = pbx_recording(tmp_path / "monitor", FREEPBX_NAME)
    first = hook(env, str(recording))
    assert first.returncode == 0, first.stderr
    again = hook(env, str(recording))  # the hook retried after a timeout: no second call
    assert again.returncode == 0, again.stderr

    calls = uploaded_calls(box)
    assert len(calls) == 1
    call = calls[0]
    assert (call.uniqueid, call.caller, call.callee, call.direction) == ("1764663302.17", "+4930123456", "200", "inbound")
    stored = [p for p in imports(box) if not p.name.endswith(".part")]
    assert len(stored) == 1 and stored[0].read_bytes() == recording.read_bytes()
    assert stored[0].is_relative_to(box.data_dir / "imports" / "pbx" / "freepbx1")
    with box.store() as store:
        assert [e.detail for e in store.audit.entries(action="pbx-upload")] == ["from PBX freepbx1"]

    worker = box.cli("worker", "--once")
    assert worker.returncode == 0
    with box.store() as store:
        text = " ".join(turn.text for turn in store.transcripts.get(call.id).turns).lower()
    assert "channel" in text and "number" in text


def test_a_wrong_or_revoked_token_uploads_nothing_and_the_pbx_keeps_the_file_for_later(box, tmp_path):
    recording = pbx_recording(tmp_path / "monitor", "out-+4930999-201-20261202-101010-1764666610.4.wav", 2.0)
    before = uploaded_calls(box)
    wrong = pbx_conf(tmp_path / "wrong", box.url, "pbx_not-the-token")
    assert hook(wrong, str(recording)).returncode == 1
    assert (tmp_path / "wrong" / "pending" / "queue").read_text().split() == [str(recording)]

    token = re.search(r"token \(shown once\): (\S+)", box.cli("pbx", "add", "old-pbx").stdout)[1]
    box.cli("pbx", "revoke", "old-pbx")
    revoked = pbx_conf(tmp_path / "revoked", box.url, token)
    assert hook(revoked, str(recording)).returncode == 1
    assert uploaded_calls(box) == before

    # The right token later: --pending sends what waited, and the queue is empty.
    right = pbx_conf(tmp_path / "wrong", box.url, box.token)
    assert hook(right, "--pending").returncode == 0
    assert not (tmp_path / "wrong" / "pending" / "queue").exists()
    assert len(uploaded_calls(box)) == len(before) + 1


def test_an_appliance_that_cannot_be_reached_leaves_the_upload_pending(box, tmp_path):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # nothing listens here once closed
    env = pbx_conf(tmp_path / "pbx", f"http://127.0.0.1:{port}", box.token)
    recording = pbx_recording(tmp_path / "monitor", "unreachable.wav", 1.0)
    assert hook(env, str(recording), "uniqueid=1764666000.9", "caller=+4930555").returncode == 1
    assert (tmp_path / "pbx" / "pending" / "queue").read_text().split() == [
        str(recording), "uniqueid=1764666000.9", "caller=+4930555"]

    env = pbx_conf(tmp_path / "pbx", box.url, box.token)
    assert hook(env, "--pending").returncode == 0
    with box.store() as store:
        call = next(c for c in store.calls.page(limit=1000) if c.uniqueid == "1764666000.9")
    assert call.caller == "+4930555"


def test_an_oversized_recording_is_refused_before_it_is_read(box, tmp_path):
    env = pbx_conf(tmp_path / "pbx", box.url, box.token)
    big = pbx_recording(tmp_path / "monitor", "big.wav", seconds=LIMIT_MB * 70)  # 16 kB/s: over 1 MiB
    before = uploaded_calls(box)
    result = hook(env, str(big))
    assert result.returncode == 0  # refused for good: not kept to be sent again
    assert not (tmp_path / "pbx" / "pending" / "queue").exists()
    assert uploaded_calls(box) == before
    assert not [p for p in imports(box) if p.name.startswith("big")]


def put(box, name: str, body: bytes, length: int | None = None, sha256: str | None = None,
        token: str | None = None, close_after_body: bool = False) -> bytes:
    """A raw PUT on a socket: what curl would send, or a connection cut mid-body."""
    head = (f"PUT /intake/recordings/{name} HTTP/1.1\r\nHost: {box.host}\r\n"
            f"Authorization: Bearer {token or box.token}\r\n"
            f"X-Content-SHA256: {sha256 or hashlib.sha256(body).hexdigest()}\r\n"
            f"Content-Length: {len(body) if length is None else length}\r\nConnection: close\r\n\r\n")
    with socket.create_connection((box.host, box.port), timeout=30) as sock:
        sock.sendall(head.encode() + body)
        if close_after_body:
            return b""
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def test_a_truncated_upload_leaves_no_file_and_queues_nothing(box):
    before = uploaded_calls(box)
    body = os.urandom(100_000)
    put(box, "cut.wav", body[:40_000], length=len(body), sha256=hashlib.sha256(body).hexdigest(),
        close_after_body=True)
    wait_for(lambda: not imports(box) or all(not p.name.endswith(".part") for p in imports(box)),
             "the half-received body to be removed")
    assert uploaded_calls(box) == before
    assert not [p for p in imports(box) if p.name.startswith("cut")]
    assert box.alive()


@pytest.mark.parametrize("name, expected", [
    ("..%2F..%2Fetc%2Fpasswd.wav", (400, 401, 404)),  # no route: the login wall answers
    ("notes.txt", (400,)),
    (".hidden.wav", (400,)),
    ("a%00b.wav", (400, 404)),
    ("header-only.wav", (400,)),  # a name that is fine, a body that is no recording
])
def test_a_hostile_file_name_is_refused(box, name, expected):
    answer = put(box, name, b"RIFF0000WAVE")
    assert int(answer.split()[1]) in expected, answer[:200]
    assert not [p for p in imports(box) if "passwd" in p.name or p.suffix == ".txt" or "header" in p.name]


def test_a_body_that_does_not_match_its_checksum_is_refused_with_a_reason(box):
    before = uploaded_calls(box)
    answer = put(box, "changed.wav", os.urandom(5000), sha256="0" * 64)
    assert answer.startswith(b"HTTP/1.1 400") and b"SHA-256" in answer
    assert uploaded_calls(box) == before
    assert not [p for p in imports(box) if p.name.startswith("changed")]


def test_the_upload_endpoint_needs_the_pbx_token_not_a_login(box):
    browser = box.login("admin")
    answer = browser.request("PUT", "/intake/recordings/x.wav", b"RIFF", headers={"X-Content-SHA256": "0" * 64})
    assert answer.status == 401


def test_over_tls_the_hook_checks_the_box_certificate(tmp_path, models_dir):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    secure = start_served(tmp_path / "box", {"WEB_TLS_CERTFILE": str(cert), "WEB_TLS_KEYFILE": str(key)})
    try:
        token = re.search(r"token \(shown once\): (\S+)", secure.cli("pbx", "add", "tls-pbx").stdout)[1]
        recording = pbx_recording(tmp_path / "monitor", FREEPBX_NAME)
        url = f"https://127.0.0.1:{secure.port}"
        unverified = pbx_conf(tmp_path / "no-ca", url, token)  # the system's CAs do not know this box
        assert hook(unverified, str(recording)).returncode == 1
        verified = pbx_conf(tmp_path / "ca", url, token)
        with open(verified["APPLIANCE_UPLOAD_CONF"], "a") as conf:
            conf.write(f"CACERT={cert}\n")
        result = hook(verified, str(recording))
        assert result.returncode == 0, result.stderr
        with secure.store() as store:
            assert [c.callee for c in store.calls.page(limit=10) if c.uniqueid == "1764663302.17"] == ["200"]
    finally:
        stop_served(secure)
