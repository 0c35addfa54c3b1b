"""pyannote from a local folder, for real and offline: a pipeline folder built here from
pyannote's own classes with locally made weights (quality is not the point), loaded inside a
network namespace with only loopback; a missing or broken folder falls back to embedded."""

import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from appliance.config import load_settings
from appliance.diarize import source
from support import diarization

from support.processes import unavailable

NO_CONFIG = Path("/dev/null")
RATE = 16000


def build_pipeline_folder(folder: Path) -> Path:
    """The layout of pyannote/speaker-diarization-community-1: config.yaml, segmentation/,
    embedding/, plda/. Random weights, except that segmentation hears one speaker throughout."""
    import lightning
    import torch
    from pyannote.audio.core.task import Problem, Resolution, Specifications
    from pyannote.audio.models.embedding import WeSpeakerResNet34
    from pyannote.audio.models.segmentation import PyanNet

    torch.manual_seed(0)

    def save(model, specifications, name):
        model.specifications = specifications
        model.build()
        if name == "segmentation":
            with torch.no_grad():
                model.classifier.bias[1] += 20.0  # powerset class {speaker#1}
        checkpoint = {"state_dict": model.state_dict(), "pytorch-lightning_version": lightning.__version__}
        model.on_save_checkpoint(checkpoint)
        (folder / name).mkdir(parents=True)
        torch.save(checkpoint, folder / name / "pytorch_model.bin")

    save(PyanNet(), Specifications(problem=Problem.MONO_LABEL_CLASSIFICATION, resolution=Resolution.FRAME,
                                   duration=10.0, classes=["speaker#1", "speaker#2", "speaker#3"],
                                   powerset_max_classes=2, permutation_invariant=True), "segmentation")
    save(WeSpeakerResNet34(), Specifications(problem=Problem.REPRESENTATION, resolution=Resolution.CHUNK,
                                             duration=5.0), "embedding")
    rng = np.random.default_rng(0)
    (folder / "plda").mkdir()
    np.savez(folder / "plda" / "xvec_transform.npz", mean1=np.zeros(256), mean2=np.zeros(128),
             lda=np.linalg.qr(rng.standard_normal((256, 256)))[0][:, :128])
    np.savez(folder / "plda" / "plda.npz", mu=np.zeros(128), tr=np.eye(128), psi=np.linspace(2.0, 0.5, 128))
    (folder / "config.yaml").write_text(yaml.safe_dump({
        "pipeline": {"name": "pyannote.audio.pipelines.SpeakerDiarization", "params": {
            "segmentation": "$model/segmentation", "embedding": "$model/embedding", "plda": "$model/plda",
            "clustering": "VBxClustering", "embedding_exclude_overlap": True}},
        "params": {"segmentation": {"min_duration_off": 0.0},
                   "clustering": {"threshold": 0.6, "Fa": 0.07, "Fb": 0.8}},
    }))
    return folder


@pytest.fixture(scope="module")
def pipeline_folder(tmp_path_factory):
    return build_pipeline_folder(tmp_path_factory.mktemp("pyannote") / "speaker-diarization")


# Runs in a fresh process inside `unshare -n`: loads the folder and prints the turns.
OFFLINE_RUN = """
import json, sys
from pathlib import Path
import soundfile
from appliance.config import load_settings
from appliance.diarize.source import choose_source, speaker_source
settings = load_settings(Path(sys.argv[1]), environ={}, pyannote_dir=Path(sys.argv[2]))
choice = choose_source(settings, 1, "call")
chosen = speaker_source(choice.name, settings)
samples, rate = soundfile.read(sys.argv[3], dtype="float32")
turns = chosen.turns(samples[: rate * 12], choice)
print(json.dumps({"source": chosen.name, "turns": [[t.speaker, t.start, t.end] for t in turns]}))
"""


def test_local_folder_loads_and_gives_turns_with_no_network(pipeline_folder):
    if os.geteuid() != 0 or not shutil.which("unshare"):
        unavailable("unshare -n needs root and util-linux")
    sample, _ = diarization.pyannote_sample()
    result = subprocess.run(
        ["unshare", "-n", sys.executable, "-c", OFFLINE_RUN, str(NO_CONFIG), str(pipeline_folder), str(sample)],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found["source"] == "pyannote", result.stderr[-3000:]
    assert found["turns"], "pyannote gave no turns"
    assert all(0 <= start < end <= 12.01 for _, start, end in found["turns"])


def _fallback(folder, caplog, models_dir):
    caplog.set_level(logging.WARNING)
    settings = load_settings(NO_CONFIG, environ={}, speaker_source="pyannote", pyannote_dir=folder,
                             models_dir=models_dir)
    chosen = source.speaker_source(source.choose_source(settings, 1, "call").name, settings)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    return chosen, warnings


def test_missing_folder_falls_back_to_embedded_with_one_clear_line(tmp_path, caplog, models_dir):
    chosen, warnings = _fallback(tmp_path / "not-installed", caplog, models_dir)
    assert chosen.name == "embedded"
    assert len(warnings) == 1
    assert "not-installed has no config.yaml" in warnings[0] and "using the embedded speaker source" in warnings[0]


def test_corrupt_folder_falls_back_to_embedded_with_one_clear_line(pipeline_folder, tmp_path, caplog, models_dir):
    broken = tmp_path / "broken"
    shutil.copytree(pipeline_folder, broken)
    weights = broken / "segmentation" / "pytorch_model.bin"
    weights.write_bytes(weights.read_bytes()[:1000])  # a download cut short
    chosen, warnings = _fallback(broken, caplog, models_dir)
    assert chosen.name == "embedded"
    assert len(warnings) == 1
    assert f"pyannote pipeline folder {broken} cannot be loaded" in warnings[0]
