"""Fixtures and helpers for the web tests: an app on the test database, users, logged-in
clients, the CSRF token a page carries, and calls with real recordings on disk.

Its fixtures reach every test through conftest.py (a plugin): name them as arguments.
CSRF stays on: a test that posts takes the token from a rendered page, as a browser does.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import numpy as np
import pytest
import soundfile

from appliance.store import EnqueueResult, Store
from appliance.transcript.model import CallMeta, Speaker, Transcript, Turn, Word
from appliance.web import create_app
from appliance.web.auth import hash_password

ADMIN_PASSWORD = "admin-pass-1234"
VIEWER_PASSWORD = "viewer-pass-1234"
CALLER_AND_CALLEE = (Speaker(0, "Caller", "caller"), Speaker(1, "Agent", "callee"))
RATE = 8000

_META_TOKEN = re.compile(r'<meta name="csrf-token" content="([^"]+)">')
_INPUT_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


# --- app, users, clients ---------------------------------------------------------------------


def make_app(settings):
    return create_app({"TESTING": True}, settings=settings)


@pytest.fixture
def app(settings):
    return make_app(settings)


@pytest.fixture
def client(app):
    return app.test_client()


@functools.cache
def hashed(password: str) -> str:
    """hash_password, once per password per test session: scrypt is slow on purpose."""
    return hash_password(password)


@pytest.fixture
def admin_user(store):
    return store.users.add("ada", hashed(ADMIN_PASSWORD), "admin")


@pytest.fixture
def viewer_user(store):
    """A viewer of every call who may rename speakers (as every viewer was before scopes);
    tests/test_scopes.py has the scoped ones."""
    from appliance.store.scopes import entry

    user = store.users.add("vic", hashed(VIEWER_PASSWORD), "viewer")
    store.users.set_scope_entries(user.id, [entry("all")])
    store.users.set_may_edit(user.id, True)
    return store.users.get(user.id)


@pytest.fixture
def admin_client(app, admin_user):
    client = app.test_client()
    login(client, "ada", ADMIN_PASSWORD)
    return client


@pytest.fixture
def viewer_client(app, viewer_user):
    client = app.test_client()
    login(client, "vic", VIEWER_PASSWORD)
    return client


def csrf_token(client, path: str = "/login") -> str:
    """The token a rendered page carries (the <meta> tag, else a form's hidden input)."""
    page = client.get(path)
    assert page.status_code == 200, (path, page.status_code)
    html = page.get_data(as_text=True)
    match = _META_TOKEN.search(html) or _INPUT_TOKEN.search(html)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def login(client, username: str, password: str, next_url: str | None = None):
    """Log in through the form, token and all; returns the response to the POST."""
    token = csrf_token(client, "/login")
    url = "/login" if next_url is None else f"/login?next={next_url}"
    return client.post(url, data={"username": username, "password": password, "csrf_token": token})


def post(client, path: str, data: dict | None = None, token_from: str = "/"):
    """POST as the page at `token_from` would: with its CSRF token."""
    return client.post(path, data={**(data or {}), "csrf_token": csrf_token(client, token_from)})


def shown_secret(html: str, element: str = "new-password") -> str:
    """The new password (or, with "new-token", API token) a page shows once."""
    match = re.search(rf'<code id="{element}">([^<]+)</code>', html)
    assert match, f"no {element} on the page"
    return match[1]


def choose_password(client, current: str, new: str):
    """Replace a generated password with one's own (what the first login asks for)."""
    return post(client, "/account/password", {"current": current, "new": new, "repeat": new},
                token_from="/account/password")


def audit_actions(store: Store, action: str) -> list:
    return store.audit.entries(limit=1000, action=action)


# --- calls -----------------------------------------------------------------------------------


def write_wav(path: Path, seconds: float = 1.0) -> Path:
    """A small stereo PCM WAV: a tone on each channel."""
    t = np.arange(int(RATE * seconds)) / RATE
    frames = np.stack([0.3 * np.sin(2 * np.pi * 440 * t), 0.3 * np.sin(2 * np.pi * 660 * t)], axis=1)
    soundfile.write(str(path), frames, RATE, subtype="PCM_16", format="WAV")
    return path


def write_raw(path: Path, seconds: float = 1.0) -> Path:
    """A MixMonitor `D` file: header-less interleaved int16 stereo at 8 kHz."""
    t = np.arange(int(RATE * seconds)) / RATE
    left = (8000 * np.sin(2 * np.pi * 440 * t)).astype("<i2")
    right = (8000 * np.sin(2 * np.pi * 660 * t)).astype("<i2")
    path.write_bytes(np.stack([left, right], axis=1).tobytes())
    return path


def words_of(text: str, start: float, end: float, probability: float = 0.95) -> tuple[Word, ...]:
    """Words as faster-whisper gives them: each with its leading space."""
    parts = text.split()
    step = (end - start) / max(1, len(parts))
    return tuple(
        Word(start + i * step, start + (i + 1) * step, f" {w}", probability) for i, w in enumerate(parts)
    )


def recorded_call(
    store: Store,
    paths: list[Path],
    meta: CallMeta,
    turns: list[Turn],
    speakers: tuple[Speaker, ...] = CALLER_AND_CALLEE,
    options: dict | None = None,
    language: str = "en",
) -> EnqueueResult:
    """Enqueue these recording files, claim the job and finish it with these turns (a transcript
    in `language`)."""
    result = store.intake.enqueue(meta, [str(p) for p in paths], options or {})
    job = store.jobs.claim("web-test", 60)
    assert job.id == result.job_id, "finish the calls one by one"
    duration = max((turn.end for turn in turns), default=1.0)
    transcript = Transcript(language, "faster-whisper", "base", duration, speakers, tuple(turns), meta)
    assert store.jobs.finish(job.id, "web-test", transcript)
    return result


def talk(lines: list[tuple[int, str]], probability: float = 0.95) -> list[Turn]:
    """(speaker, text) lines as turns two seconds apart, each with its words."""
    return [
        Turn(speaker, i * 2.0, i * 2.0 + 1.5, text, words_of(text, i * 2.0, i * 2.0 + 1.5, probability))
        for i, (speaker, text) in enumerate(lines)
    ]
