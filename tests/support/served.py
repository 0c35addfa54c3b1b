"""A real `appliance serve` process for attack and load tests: the production server, started as
the command line starts it, on a fresh data folder, reached over real sockets.

    from served import served          # the module-scoped fixture
    def test_x(served):
        admin = served.login("admin")  # a Browser: cookies, CSRF token, no redirects followed
        answer = admin.get("/calls/1")
        answer.status, answer.headers["Location"], answer.text

What is in it: users admin (admin), vic (viewer of every call, may edit) and agent (agent of
extension 201 only); two finished calls, `served.own_call` (201 called +4930111) and
`served.other_call` (202 called +4930222, outside the agent's scope), each with a real
recording on disk. Passwords are in `served.passwords`.
"""

from __future__ import annotations

import http.client
import os
import re
import socket
import subprocess
import time
import urllib.parse
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path

import pytest

from appliance.store import Store
from appliance.transcript.model import CallMeta
from support.processes import APPLIANCE
from support.web import hashed, recorded_call, talk, write_wav

# The code of this checkout, run by the interpreter running the tests (a worktree's too).
ROOT = Path(__file__).resolve().parents[2]
PASSWORDS = {"admin": "admin-pass-served-1", "vic": "viewer-pass-served-1", "agent": "agent-pass-served-1"}
_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)">|name="csrf_token"[^>]*value="([^"]+)"')


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


@dataclass
class Browser:
    """One user agent: keeps its cookies, never follows redirects, sends what it is told."""

    host: str
    port: int
    cookies: dict[str, str] = field(default_factory=dict)
    csrf: str = ""
    source: str | None = None  # the address it connects from (any of 127.0.0.0/8), else the default

    def request(self, method: str, path: str, body: bytes | dict | None = None, headers: dict | None = None,
                timeout: float = 30) -> Answer:
        sent = {**(headers or {})}
        if isinstance(body, dict):
            body = urllib.parse.urlencode(body).encode()
            sent.setdefault("Content-Type", "application/x-www-form-urlencoded")
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        connection = http.client.HTTPConnection(self.host, self.port, timeout=timeout,
                                                source_address=(self.source, 0) if self.source else None)
        try:
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            answer = Answer(response.status, response.headers, response.read())
        finally:
            connection.close()
        for header in answer.headers.get_all("Set-Cookie") or ():
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        return answer

    def get(self, path: str, **kwargs) -> Answer:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, data: dict | None = None, token_from: str | None = None, **kwargs) -> Answer:
        """A form POST carrying the CSRF token of the page at `token_from` (else the last one seen)."""
        if token_from is not None or not self.csrf:
            self.take_token(token_from or "/login")
        return self.request("POST", path, {**(data or {}), "csrf_token": self.csrf}, **kwargs)

    def post_file(self, path: str, field_name: str, filename: str, content: bytes, data: dict | None = None,
                  token_from: str | None = None, **kwargs) -> Answer:
        """A multipart form POST of one file (and fields), with the CSRF token as post() takes it."""
        if token_from is not None or not self.csrf:
            self.take_token(token_from or "/login")
        boundary = "----served-boundary-7f3a"
        parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
                 for name, value in {**(data or {}), "csrf_token": self.csrf}.items()]
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{field_name}"; filename="{filename}"\r\n'
                     f"Content-Type: application/octet-stream\r\n\r\n".encode() + content + b"\r\n")
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        return self.request("POST", path, body, {"Content-Type": f"multipart/form-data; boundary={boundary}",
                                                 **kwargs.pop("headers", {})}, **kwargs)

    def open_stream(self, path: str, timeout: float = 10) -> tuple[int, socket.socket, bytes]:
        """A long-lived GET (an event stream) left open: its status, its socket (close it) and
        what arrived with the head. Read more with read_until()."""
        sock = socket.create_connection((self.host, self.port), timeout=timeout)
        cookie = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {self.host}\r\nCookie: {cookie}\r\n\r\n".encode())
        seen = read_until(sock, b"\r\n\r\n")
        return int(seen.split(b" ", 2)[1]), sock, seen

    def take_token(self, path: str) -> str:
        match = _CSRF.search(self.get(path).text)
        assert match, f"no CSRF token on {path}"
        self.csrf = match[1] or match[2]
        return self.csrf


@dataclass
class Served:
    url: str
    host: str
    port: int
    data_dir: Path
    env: dict
    process: subprocess.Popen
    log: Path
    own_call: int = 0
    other_call: int = 0
    passwords: dict = field(default_factory=lambda: dict(PASSWORDS))

    def browser(self, source: str | None = None) -> Browser:
        """A fresh user agent, from `source` (another loopback address: another client) if given."""
        return Browser(self.host, self.port, source=source)

    def login(self, username: str, password: str | None = None, source: str | None = None) -> Browser:
        browser = self.browser(source)
        answer = browser.post("/login", {"username": username, "password": password or self.passwords[username]},
                              token_from="/login")
        assert answer.status == 302, f"login of {username} failed: {answer.status} {answer.text[:300]}"
        browser.take_token("/")
        return browser

    def store(self) -> Store:
        return Store(self.data_dir / "appliance.db")

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run([str(APPLIANCE), *args], env=self.env, capture_output=True, text=True, timeout=120)
        assert not check or done.returncode == 0, f"appliance {' '.join(args)}: {done.stderr}"
        return done

    def alive(self) -> bool:
        return self.process.poll() is None


def read_until(sock: socket.socket, marker: bytes, seen: bytes = b"") -> bytes:
    """Read from `sock` until `marker` has arrived (the socket's timeout bounds the wait)."""
    while marker not in seen:
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError(f"connection closed before {marker!r}; got {seen[-500:]!r}")
        seen += chunk
    return seen


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _answers(host: str, port: int, tls: bool = False) -> bool:
    try:
        if tls:  # uvicorn loads the app before it listens: a connection means it is up
            socket.create_connection((host, port), timeout=2).close()
            return True
        return Browser(host, port).get("/healthz", timeout=2).status in (200, 503)
    except OSError:
        return False


def start_served(folder: Path, settings: dict[str, str] | None = None) -> Served:
    """`settings`: more APPLIANCE_* environment variables for the server ({"TIMEZONE": "UTC"})."""
    data = folder / "data"
    data.mkdir(parents=True)
    env = {**os.environ, "APPLIANCE_CONFIG": "/dev/null", "APPLIANCE_DATA_DIR": str(data),
           "APPLIANCE_MODELS_DIR": str(folder / "models"), "PYTHONPATH": str(ROOT),
           **{f"APPLIANCE_{name}": value for name, value in (settings or {}).items()}}
    from appliance.store.scopes import entry

    with Store(data / "appliance.db") as store:
        store.users.add("admin", hashed(PASSWORDS["admin"]), "admin")
        vic = store.users.add("vic", hashed(PASSWORDS["vic"]), "viewer")
        store.users.set_scope_entries(vic.id, [entry("all")])
        store.users.set_may_edit(vic.id, True)
        agent = store.users.add("agent", hashed(PASSWORDS["agent"]), "agent")
        store.users.set_scope_entries(agent.id, [entry("extension", "201")])
        recordings = data / "recordings"
        recordings.mkdir()
        own = recorded_call(store, [write_wav(recordings / "served-own.wav", 4.0)],
                            CallMeta(uniqueid="served-own", caller="201", callee="+4930111"),
                            talk([(0, "good morning this is the clinic"), (1, "I would like an appointment")]))
        other = recorded_call(store, [write_wav(recordings / "served-other.wav", 4.0)],
                              CallMeta(uniqueid="served-other", caller="202", callee="+4930222"),
                              talk([(0, "the invoice is overdue"), (1, "we will pay tomorrow")]))
    port = _free_port()
    log = folder / "serve.log"
    with open(log, "wb") as out:
        process = subprocess.Popen([str(APPLIANCE), "serve", "--host", "127.0.0.1", "--port", str(port)],
                                   env=env, stdout=out, stderr=subprocess.STDOUT)
    served = Served(f"http://127.0.0.1:{port}", "127.0.0.1", port, data, env, process, log,
                    own.call_id, other.call_id)
    deadline = time.monotonic() + 60
    while not _answers("127.0.0.1", port, tls="WEB_TLS_CERTFILE" in (settings or {})):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"appliance serve did not come up:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)
    return served


def stop_served(served: Served) -> None:
    served.process.terminate()
    try:
        served.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        served.process.kill()
        served.process.wait()


def served_with(**settings: str):
    """A `served` fixture whose server runs with these settings (as APPLIANCE_* variables):
    `served = served_with(TIMEZONE="Europe/Berlin")` in a test module."""

    @pytest.fixture(scope="module", name="served")
    def fixture(tmp_path_factory):
        running = start_served(tmp_path_factory.mktemp("served"), settings)
        try:
            yield running
        finally:
            stop_served(running)

    return fixture


# A real `appliance serve` on its own data folder for each test module that uses it.
served = served_with()
