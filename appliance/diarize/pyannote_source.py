"""pyannote.audio's speaker diarization pipeline, loaded only from a local folder.

The folder holds the pipeline's `config.yaml` and the files it names: for
`pyannote/speaker-diarization-community-1` that is `segmentation/`, `embedding/` (each a
`pytorch_model.bin`) and `plda/` (`xvec_transform.npz`, `plda.npz`), referred to as
`$model/segmentation` etc. A config that names models on a hub (3.1's does) must be edited
to local paths: the hub is never reached (HF_HUB_OFFLINE=1, set by `appliance`), so such a
folder fails to load and the embedded source is used instead.

Needs the optional extra: `pip install '.[pyannote]'` (torch 2.14.1, torchaudio, ffmpeg).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from appliance.diarize.source import SourceChoice, SpeakerTurn, numbered_by_first_turn
from appliance.errors import ModelMissing

RATE = 16000


class PyannoteSource:
    name = "pyannote"

    def __init__(self, folder: Path | str | None) -> None:
        if folder is None:
            raise ModelMissing("no pyannote pipeline folder is configured (setting 'pyannote_dir')")
        folder = Path(folder)
        if not (folder / "config.yaml").is_file():
            raise ModelMissing(f"pyannote pipeline folder {folder} has no config.yaml")
        try:
            from pyannote.audio import Pipeline
        except ImportError as exc:
            raise ModelMissing(f"pyannote.audio is not installed ({exc}); install the 'pyannote' extra") from None
        try:
            pipeline = Pipeline.from_pretrained(folder)
        except Exception as exc:  # noqa: BLE001 - any broken file must fall back, not stop the worker
            raise ModelMissing(f"pyannote pipeline folder {folder} cannot be loaded "
                               f"({type(exc).__name__}: {str(exc)[:200]})") from None
        if pipeline is None:
            raise ModelMissing(f"pyannote pipeline folder {folder} cannot be loaded")
        self.pipeline = pipeline

    def turns(self, samples: np.ndarray, choice: SourceChoice) -> list[SpeakerTurn]:
        import torch

        output = self.pipeline(
            {"waveform": torch.from_numpy(np.ascontiguousarray(samples, dtype=np.float32))[None], "sample_rate": RATE},
            min_speakers=choice.min_speakers,
            max_speakers=choice.max_speakers,
        )
        # 4.x returns both; the exclusive one (no overlaps) is the one made for transcripts.
        annotation = getattr(output, "exclusive_speaker_diarization", output)
        labels: dict[str, int] = {}
        turns = [
            SpeakerTurn(labels.setdefault(label, len(labels)), float(segment.start), float(segment.end))
            for segment, _, label in annotation.itertracks(yield_label=True)
        ]
        return numbered_by_first_turn(turns)
