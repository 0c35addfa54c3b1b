"""faster-whisper, batched, with Silero VAD and word timestamps, from a local model folder."""

from __future__ import annotations

import numpy as np

from appliance.config import Settings
from appliance.models import model_path
from appliance.stt import ProgressCallback
from appliance.transcript.model import Recognition, Segment
from appliance.stt.guards import clean_segments
from appliance.transcript.model import Word

SAMPLE_RATE = 16000
# Silero VAD starts speech up to a second late after digital silence, which MixMonitor writes
# wherever a party is quiet (and bleed suppression writes where it mutes). A floor like a real
# line's noise, far below speech, keeps the onsets of turns.
NOISE_FLOOR_DBFS = -70.0


def with_noise_floor(samples: np.ndarray) -> np.ndarray:
    rng = np.random.default_rng(0)  # fixed: the same recording always gives the same transcript
    floor = rng.normal(0.0, 10 ** (NOISE_FLOOR_DBFS / 20), len(samples)).astype(np.float32)
    return samples + floor


def resolve_device(choice: str) -> str:
    """The device setting as CTranslate2 takes it: "auto" is a GPU where one is seen."""
    if choice != "auto":
        return choice
    import ctranslate2

    return "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"


class WhisperEngine:
    engine = "faster-whisper"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.model = settings.model
        self.device = resolve_device(settings.device)
        self._pipeline = None

    def load(self):
        """The batched pipeline, loaded on first use (CTranslate2 reads the model from disk)."""
        if self._pipeline is None:
            # Heavy import (CTranslate2) only once a recording actually needs it.
            from faster_whisper import BatchedInferencePipeline, WhisperModel

            whisper = WhisperModel(
                str(model_path(self.settings, self.settings.model)),
                device=self.device,
                compute_type=self.settings.compute_type,
                cpu_threads=self.settings.cpu_threads,
                local_files_only=True,
            )
            self._pipeline = BatchedInferencePipeline(model=whisper)
        return self._pipeline

    def recognise(
        self,
        samples: np.ndarray,
        *,
        language: str | None,
        hotwords: str | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> Recognition:
        pipeline = self.load()
        duration = len(samples) / SAMPLE_RATE
        segments, info = pipeline.transcribe(
            with_noise_floor(samples),
            language=language,
            beam_size=self.settings.beam_size,
            batch_size=self.settings.batch_size,
            vad_filter=True,
            # Telephone turns are short: split on shorter pauses than the 2 s default, so
            # that one party's turns do not swallow the other's interjections.
            vad_parameters={"min_silence_duration_ms": 500, "speech_pad_ms": 200},
            word_timestamps=True,
            condition_on_previous_text=False,
            hotwords=hotwords or None,
        )
        collected = []
        for segment in segments:
            collected.append(
                Segment(
                    start=segment.start,
                    end=segment.end,
                    text=segment.text.strip(),
                    words=tuple(
                        Word(start=w.start, end=w.end, word=w.word, probability=w.probability)
                        for w in segment.words or ()
                    ),
                    avg_logprob=segment.avg_logprob,
                    no_speech_prob=segment.no_speech_prob,
                )
            )
            if on_progress and duration:
                on_progress(min(1.0, segment.end / duration))
        return Recognition(language=info.language, segments=tuple(clean_segments(collected)))
