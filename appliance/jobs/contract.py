"""The job contract shared by the local worker and remote ones: what a job carries out to a
worker (a ticket) and what comes back (a result), and the per-job token that lets a remote
worker fetch that job's recording and hand in its result, and nothing else.

A ticket holds no audio and no transcript: the worker fetches the recording files from the
box's /worker endpoint (appliance/web/worker.py) with the ticket's token. The token names the
job and the lease holder it was issued to and is signed with the site's worker secret, so it
cannot be forged for another job, and it opens the audio only while that holder owns the job.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from pathlib import Path

from appliance.config import site_secret
from appliance.store import Job
from appliance.transcript.model import CallMeta, Transcript

REMOTE_PREFIX = "remote:"
# About a minute of 8 kHz 16-bit stereo, MixMonitor's usual recording.
SHORT_CALL_BYTES = 2_000_000


@dataclass(frozen=True)
class JobTicket:
    job_id: int
    token: str
    # Recording files by name only (their suffix tells the decoder the format); fetched by index.
    files: tuple[str, ...]
    meta: CallMeta
    options: dict  # language, speaker source, decode hints, as stored with the recording
    hotwords: str  # the site's vocabulary
    # Voicemail and short calls first (higher is sooner); see priority_for.
    priority: int = 0
    # How often the worker reports progress; each report renews its lease on the box.
    heartbeat_seconds: float = 20.0

    @property
    def holder(self) -> str:
        """The lease holder the ticket's token was issued to (see sign)."""
        return self.token.rpartition(".")[0]

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "JobTicket":
        return cls(**{**data, "files": tuple(data["files"]), "meta": CallMeta(**data["meta"])})


@dataclass(frozen=True)
class JobResult:
    job_id: int
    transcript: Transcript
    # Measured on the worker, shown per worker on the jobs page.
    worker: str = ""
    device: str = "cpu"
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return {**dataclasses.asdict(self), "transcript": self.transcript.to_dict()}

    @classmethod
    def from_dict(cls, data: dict) -> "JobResult":
        return cls(**{**data, "transcript": Transcript.from_dict(data["transcript"])})


def ticket_for(job: Job, token: str, hotwords: str, options: dict, heartbeat_seconds: float) -> JobTicket:
    return JobTicket(
        job_id=job.id, token=token, files=tuple(Path(p).name for p in job.paths), meta=job.meta,
        options=options, hotwords=hotwords, priority=priority_for(job), heartbeat_seconds=heartbeat_seconds,
    )


def priority_for(job: Job) -> int:
    """Voicemail and notes first, then short calls, then the long backlog (higher is sooner).
    The length is not known before decoding; the files' size stands in for it."""
    if job.meta.kind in ("voicemail", "note"):
        return 9
    size = sum(Path(p).stat().st_size for p in job.paths if Path(p).is_file())
    return 5 if size < SHORT_CALL_BYTES else 0


def worker_secret(data_dir: Path) -> bytes:
    """The site's key for signing job tokens (appliance.config.site_secret)."""
    return site_secret(data_dir, "worker_secret").encode()


def new_holder() -> str:
    """A lease owner for a job handed to a remote worker; unguessable, never reused."""
    return REMOTE_PREFIX + secrets.token_hex(12)


def _mac(secret: bytes, job_id: int, holder: str) -> str:
    return hmac.new(secret, f"{job_id}:{holder}".encode(), hashlib.sha256).hexdigest()


def sign(secret: bytes, job_id: int, holder: str) -> str:
    return f"{holder}.{_mac(secret, job_id, holder)}"


def holder_of(secret: bytes, job_id: int, token: str) -> str | None:
    """The lease holder a token was issued to for this job, or None if it was not issued by
    this site for this job."""
    holder, _, mac = token.rpartition(".")
    if not holder.startswith(REMOTE_PREFIX) or not hmac.compare_digest(mac, _mac(secret, job_id, holder)):
        return None
    return holder
