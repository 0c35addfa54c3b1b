"""`appliance backup DEST` and `appliance restore SRC`.

A backup is a folder `appliance-backup-<UTC time>/` holding `appliance.db` (SQLite's online
backup: one consistent snapshot taken while the worker keeps writing), `files/` with every
recording that snapshot expects on disk (under its absolute path), `data/` with the box's
secrets (web session key, Asterisk secrets), and `manifest.json` with each file's sha256.
Recordings never change once queued, so copying them after the snapshot is consistent with it;
one deleted in between (retention, erasure) is listed as missing. The folder appears under its
final name only when complete.

A backup holds everything the box holds: personal data. It is written readable by its owner only.
Restore checks every checksum before it touches anything, refuses while a worker holds a job,
and asks for --force before it replaces a database that already has calls.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from appliance import filemodes
from appliance.config import Settings
from appliance.errors import ApplianceError
from appliance.store import Store
from appliance.store.schema import MIGRATIONS

MANIFEST = "manifest.json"
DATABASE = "appliance.db"
FILES = "files"
DATA = "data"
# Small files in data_dir that make the box itself (not derived, not recordings).
BOX_FILES = ("secret_key", "asterisk-secrets.json")
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Recording:
    path: str  # where it lives on the box, and (under files/) in the backup
    sha256: str
    size: int


@dataclass(frozen=True)
class BoxFile:
    name: str  # in data_dir, and under data/ in the backup
    sha256: str
    size: int


@dataclass(frozen=True)
class Manifest:
    """manifest.json: what the backup holds, each file with its checksum."""

    created_at: float
    schema_version: int
    calls: int
    database_sha256: str
    files: tuple[Recording, ...]
    missing: tuple[str, ...]  # recordings the snapshot names that were deleted before their copy
    box_files: tuple[BoxFile, ...]

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=1)

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        """ValueError for a manifest that is not one (bad JSON, a key missing or unknown)."""
        data = json.loads(text)
        try:
            return cls(**{**data, "files": tuple(Recording(**f) for f in data["files"]),
                          "missing": tuple(data["missing"]),
                          "box_files": tuple(BoxFile(**f) for f in data["box_files"])})
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a manifest: {exc}") from None


def _copy_hashing(source: Path, target: Path) -> tuple[str, int]:
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    digest, size = hashlib.sha256(), 0
    partial = target.with_name(f".{target.name}.part")
    with source.open("rb") as src, partial.open("wb") as dst:
        while chunk := src.read(_CHUNK):
            digest.update(chunk)
            dst.write(chunk)
            size += len(chunk)
        dst.flush()
        os.fsync(dst.fileno())
    shutil.copystat(source, partial)
    os.replace(partial, target)
    return digest.hexdigest(), size


def _private(root: Path) -> None:
    """A backup holds every recording and the database: its files 0600, its folders 0700."""
    for folder, _folders, names in os.walk(root):
        os.chmod(folder, filemodes.BACKUP_FOLDER)
        for name in names:
            os.chmod(Path(folder) / name, filemodes.BACKUP_FILE)


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _in_backup(root: Path, path: str) -> Path:
    return root / FILES / Path(path).relative_to("/")


def backup(settings: Settings, dest: Path, now: float | None = None) -> Path:
    now = time.time() if now is None else now
    name = "appliance-backup-" + datetime.fromtimestamp(now, timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    final = Path(dest) / name
    if final.exists():
        raise ApplianceError(f"{final} exists already; choose another destination")
    partial = Path(dest) / f".{name}.part"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True, mode=0o700)
    with Store.open(settings) as live:
        live.ops.backup_to(partial / DATABASE)
    # The copy's own view decides which recordings belong to it.
    with Store(partial / DATABASE) as copy:
        paths = copy.ops.recording_paths()
        calls = copy.ops.call_count()
    files, missing = [], []
    for path in paths:
        try:
            digest, size = _copy_hashing(Path(path), _in_backup(partial, path))
        except FileNotFoundError:
            missing.append(path)
            continue
        files.append(Recording(path, digest, size))
    box = []
    for name_ in BOX_FILES:
        source = settings.data_dir / name_
        if source.is_file():
            digest, size = _copy_hashing(source, partial / DATA / name_)
            box.append(BoxFile(name_, digest, size))
    manifest = Manifest(created_at=now, schema_version=len(MIGRATIONS), calls=calls,
                        database_sha256=sha256(partial / DATABASE), files=tuple(files), missing=tuple(missing),
                        box_files=tuple(box))
    (partial / MANIFEST).write_text(manifest.to_json())
    _private(partial)
    os.replace(partial, final)
    with Store.open(settings) as live:
        live.ops.set_state("last-backup", {"calls": calls, "files": len(files), "missing": len(missing)}, now=now)
    return final


def read_manifest(source: Path) -> Manifest:
    try:
        return Manifest.from_json((Path(source) / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise ApplianceError(f"{source} is not a complete appliance backup ({type(exc).__name__}: no readable {MANIFEST})") from None


def verify(source: Path) -> Manifest:
    """The manifest, after checking every file against it."""
    source = Path(source)
    manifest = read_manifest(source)
    checks = [(source / DATABASE, manifest.database_sha256)]
    checks += [(_in_backup(source, f.path), f.sha256) for f in manifest.files]
    checks += [(source / DATA / f.name, f.sha256) for f in manifest.box_files]
    bad = [str(path) for path, digest in checks if not path.is_file() or sha256(path) != digest]
    if bad:
        raise ApplianceError(f"the backup is damaged: {len(bad)} file(s) missing or changed, first {bad[0]}")
    if manifest.schema_version > len(MIGRATIONS):
        raise ApplianceError("the backup comes from a newer appliance; upgrade this one first")
    return manifest


def restore(settings: Settings, source: Path, force: bool = False) -> Manifest:
    source = Path(source)
    manifest = verify(source)
    settings.db_path.parent.mkdir(parents=True, exist_ok=True)
    with Store.open(settings) as live:
        if live.ops.held_leases():
            raise ApplianceError("a worker is transcribing right now; stop the appliance's services, then restore")
        existing = live.ops.call_count()
        if existing and not force:
            raise ApplianceError(
                f"the database {settings.db_path} holds {existing} call(s); restoring replaces them "
                "(pass --force to do so)")
        for entry in manifest.files:
            target = Path(entry.path)
            if not (target.is_file() and sha256(target) == entry.sha256):
                _copy_hashing(_in_backup(source, entry.path), target)
        for entry in manifest.box_files:
            _copy_hashing(source / DATA / entry.name, settings.data_dir / entry.name)
        # Files first: once the rows are back, every recording they name is on disk.
        live.ops.restore_from(source / DATABASE)
        live.audit.add(None, "restore", None, f"{manifest.calls} call(s), {len(manifest.files)} file(s)")
    return manifest
