"""Recordings a PBX on another machine uploads: received whole or not at all, queued once.

The PBX side is a shell hook (asterisk-config/appliance-upload: curl, no Python) that FreePBX's
post-call-recording script setting or a `MixMonitor(...,,cmd)` runs. It sends the file with its
length and SHA-256. The server writes the body to a file of its own as it arrives
(appliance/web/server.py: never whole in memory, never holding a page thread), hashing it as it
writes, so a recording of hundreds of megabytes is not read a second time; it is renamed
into `data_dir/imports/pbx/<pbx>/` only when every announced byte arrived and the checksum
matches: a connection cut mid-upload or a file changed in flight leaves nothing behind. A file the PBX
sends again (the hook retried after a timeout) is known by its checksum and not queued twice.
Names in FreePBX's pattern carry the call's metadata (appliance/jobs/freepbx.py); otherwise the
hook may say the uniqueid and the numbers.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from appliance.config import Settings, zone_named
from appliance.errors import ApplianceError
from appliance.jobs.intake import synced_rename
from appliance.jobs.freepbx import parse_name
from appliance.jobs.spool import AUDIO_SUFFIX
from appliance.store import Store
from appliance.store.records import PbxSource
from appliance.transcript.model import CallMeta, valid_uniqueid

log = logging.getLogger(__name__)

# FreePBX's names and Asterisk's ${UNIQUEID}.wav: letters, digits, + . _ - only (no path).
_FILE_NAME = re.compile(r"[A-Za-z0-9+_-][A-Za-z0-9+._-]{0,199}")
_NUMBER = re.compile(r"[0-9A-Za-z+*#._-]{1,40}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
# Formats whose header libsndfile checks cheaply; the others (raw, gsm) the job's decode judges.
_READABLE_HEADERS = {".wav", ".wav49", ".flac", ".ogg", ".oga"}


class UploadRefused(ApplianceError):
    """An upload the box will not take; `status` is the HTTP answer that says why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Upload:
    """What the PBX announced before the body: the file's name, length and checksum, and the
    call's metadata where its name does not carry it."""

    file_name: str
    length: int | None
    sha256: str
    uniqueid: str | None = None
    caller: str | None = None
    callee: str | None = None

    def checked(self, max_bytes: int) -> "Upload":
        if not _FILE_NAME.fullmatch(self.file_name) or not AUDIO_SUFFIX.match(Path(self.file_name).suffix):
            raise UploadRefused(400, "the file name must be a recording's (letters, digits, + . _ -, "
                                     "ending .wav, .gsm, .wav49, ...)")
        if self.length is None:
            raise UploadRefused(411, "the upload must announce its length (Content-Length)")
        if self.length <= 0:
            raise UploadRefused(400, "the recording is empty")
        if self.length > max_bytes:
            raise UploadRefused(413, f"the recording is larger than the limit of {max_bytes >> 20} MiB "
                                     "(setting pbx_upload_max_mb)")
        if not _SHA256.fullmatch(self.sha256):
            raise UploadRefused(400, "the upload must carry its SHA-256 (header X-Content-SHA256, 64 hex digits)")
        if not valid_uniqueid(self.uniqueid):
            raise UploadRefused(400, "the uniqueid may have letters, digits and . _ - only")
        for number in (self.caller, self.callee):
            if number is not None and not _NUMBER.fullmatch(number):
                raise UploadRefused(400, "a caller or callee is a number or extension (digits, letters, + * # . _ -)")
        return self


@dataclass(frozen=True)
class Received:
    state: str  # "queued" or "duplicate"
    call_id: int | None
    job_id: int | None = None


def new_token() -> tuple[str, str]:
    """A PBX's upload token, and its SHA-256, the only form the store keeps."""
    token = "pbx_" + secrets.token_urlsafe(32)
    return token, _digest(token)


def source_of(store: Store, token: str) -> PbxSource | None:
    return store.pbx.by_token_hash(_digest(token)) if token else None


@dataclass(frozen=True)
class Body:
    """An upload's body as the server received it: the file it wrote and the SHA-256 of its bytes."""

    path: Path
    sha256: str


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def system_of(source: PbxSource) -> str:
    return f"pbx:{source.name}"


def incoming_folder(settings: Settings) -> Path:
    """Where the server writes upload bodies while they arrive (same file system as the imports)."""
    return settings.data_dir / "imports" / "pbx" / ".incoming"


def receive(store: Store, settings: Settings, source: PbxSource, upload: Upload, body: Body) -> Received:
    """Take the received body of an announced upload in (renamed into place) and queue it, or
    refuse it (the server removes what it received)."""
    upload = upload.checked(int(settings.pbx_upload_max_mb * (1 << 20)))
    system = system_of(source)
    known = store.intake.imported_call(system, upload.sha256)
    if known is not None:
        return Received("duplicate", known)
    _check_body(body, upload)
    target = _target(settings.data_dir / "imports" / "pbx" / source.name, upload.file_name)
    synced_rename(body.path, target)
    try:
        with store.audit.entry(None, "pbx-upload", None, f"from PBX {source.name}"):
            # Checked again inside the write transaction: the same file may race in on two
            # connections (the hook retried while the first upload was still running).
            known = store.intake.imported_call(system, upload.sha256)
            if known is not None:
                raise _AlreadyHere(known)
            result = store.intake.enqueue_import(system, upload.sha256, _meta(upload, source, settings), [target], {})
            store.pbx.uploaded(source.id)
    except _AlreadyHere as here:
        target.unlink(missing_ok=True)
        return Received("duplicate", here.call_id)
    except BaseException:
        target.unlink(missing_ok=True)  # not queued: no file that no job points to
        raise
    log.info("pbx upload: %s queued job %d", source.name, result.job_id)
    return Received("queued", result.call_id, result.job_id)


class _AlreadyHere(Exception):
    def __init__(self, call_id: int) -> None:
        self.call_id = call_id


def _target(folder: Path, file_name: str) -> Path:
    """The final name under today's folder; a second file of the same name (another call that
    reused it) gets a suffix instead of replacing the first."""
    day = folder / datetime.now(timezone.utc).strftime("%Y/%m/%d")
    target, path, n = day / file_name, Path(file_name), 1
    while target.exists():
        target, n = day / f"{path.stem}.{n}{path.suffix}", n + 1
    return target


def _check_body(body: Body, upload: Upload) -> None:
    size = body.path.stat().st_size
    if size != upload.length:
        raise UploadRefused(400, f"the upload has {size} bytes, not the {upload.length} it announced")
    if body.sha256 != upload.sha256:
        raise UploadRefused(400, "the recording does not match its SHA-256: it changed or broke on the way")
    if Path(upload.file_name).suffix.lower() in _READABLE_HEADERS:
        import soundfile

        try:
            frames = soundfile.info(str(body.path)).frames
        except RuntimeError:  # soundfile.LibsndfileError
            frames = 0
        if frames <= 0:
            raise UploadRefused(400, "the file is no readable recording (its header is broken or it has no sound)")


def _meta(upload: Upload, source: PbxSource, settings: Settings) -> CallMeta:
    stem = Path(upload.file_name).stem
    # A named zone: a July name gets summer time even when it arrives in December.
    named = parse_name(stem, zone_named(source.timezone) if source.timezone else settings.zone)
    if named is not None:
        return named
    return CallMeta(uniqueid=upload.uniqueid or f"pbx-{source.name}-{stem}"[:128], caller=upload.caller,
                    callee=upload.callee)
