"""The speaker source that works out of the box: its weights ship in a PyPI package.

speech regions (Silero VAD, bundled with faster-whisper)
 -> 1.6 s windows every 0.25 s inside them (the encoder's training length)
 -> Resemblyzer embeddings (`voice_encoder.py`) of an even spread of the windows
 -> speaker count and labels by spectral clustering (`clustering.py`) of the spread
 -> embeddings of the other windows only where the spread's speaker changes
 -> per 10 ms frame, the speaker whose centroid the windows covering that frame resemble most.

The last step places a change of speaker where the evidence of all overlapping windows
switches, not at a window's edge, so turns keep their onsets and short interjections.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from appliance.diarize import clustering
from appliance.diarize.source import SourceChoice, SpeakerTurn, numbered_by_first_turn
from appliance.diarize.voice_encoder import HOP, RATE, WINDOW_FRAMES, VoiceEncoder, mel_frames, normalise_level

# Window step in mel frames (10 ms): 0.25 s for calls; voicemail's check needs less detail.
STEP_FRAMES = 25
ONE_VOICE_STEP_FRAMES = 50
# Silero VAD: split regions on pauses of 0.3 s, pad speech a little (onsets, plosives).
VAD_OPTIONS = {"threshold": 0.5, "min_silence_duration_ms": 300, "speech_pad_ms": 100}
# Clustering holds an n x n affinity and decomposes it many times: a long recording clusters
# an even spread of this many windows (75 s of speech at the full rate, one window a second
# in a 5-minute call); every window then goes to the nearest speaker centroid.
MAX_CLUSTERED_WINDOWS = 300
# Less speech than this is one speaker: too few windows that do not share audio to compare.
MIN_SPEECH_FOR_SPEAKERS_SECONDS = 8.0
# A "speaker" heard for less than this is folded into the most similar one (splits of one
# voice on short recordings; a real party says more than this).
MIN_SPEAKER_SECONDS = 2.0
# A second voice in a voicemail is "clear" when its centroid is this far from the first
# (cosine; two real voices mixed measured 0.64, splits of one voice 0.88-0.95) ...
CLEAR_SECOND_VOICE_BELOW = 0.75
# ... and it speaks for at least this long.
CLEAR_SECOND_VOICE_SECONDS = 2.0


def speech_regions(samples: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) sample offsets of speech, by the Silero VAD that faster-whisper ships."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    return [(r["start"], r["end"]) for r in get_speech_timestamps(samples, VadOptions(**VAD_OPTIONS))]


def window_starts(regions: list[tuple[int, int]], total_frames: int, step: int) -> list[int]:
    """First mel frame of each window: every `step` frames inside each region, one for a short one."""
    starts = []
    last = max(0, total_frames - WINDOW_FRAMES)
    for start, end in regions:
        a, b = start // HOP, end // HOP
        if b - a <= WINDOW_FRAMES:
            starts.append(min(max(0, (a + b) // 2 - WINDOW_FRAMES // 2), last))
            continue
        starts.extend(range(a, b - WINDOW_FRAMES + 1, step))
        if (b - WINDOW_FRAMES - a) % step:
            starts.append(b - WINDOW_FRAMES)
    return starts


def frame_speakers(starts: np.ndarray, scores: np.ndarray, speech: np.ndarray) -> np.ndarray:
    """Per mel frame: the best-scoring speaker over the windows covering it; -1 outside speech."""
    total = len(speech)
    summed = np.zeros((total + WINDOW_FRAMES, scores.shape[1]))
    covered = np.zeros(total + WINDOW_FRAMES)
    for start, row in zip(starts, scores):
        summed[start: start + WINDOW_FRAMES] += row
        covered[start: start + WINDOW_FRAMES] += 1
    best = summed[:total].argmax(axis=1)
    # Speech that no window covers (the edge of a clamped window) takes its nearest covered frame.
    seen = np.flatnonzero(covered[:total] > 0)
    nearest = seen[np.clip(np.searchsorted(seen, np.arange(total)), 0, len(seen) - 1)]
    return np.where(speech, best[nearest], -1)


def runs_to_turns(labels: np.ndarray) -> list[SpeakerTurn]:
    turns = []
    edges = np.flatnonzero(np.diff(labels)) + 1
    for a, b in zip(np.concatenate([[0], edges]), np.concatenate([edges, [len(labels)]])):
        if labels[a] >= 0:
            turns.append(SpeakerTurn(int(labels[a]), a * HOP / RATE, b * HOP / RATE))
    return turns


class EmbeddedSource:
    name = "embedded"

    def __init__(self, models_dir: Path) -> None:
        self.encoder = VoiceEncoder(models_dir)

    def turns(self, samples: np.ndarray, choice: SourceChoice) -> list[SpeakerTurn]:
        regions = speech_regions(samples)
        if not regions:
            return []
        samples = normalise_level(samples, regions)
        mel = mel_frames(samples)
        if len(mel) < WINDOW_FRAMES:
            mel = np.pad(mel, ((0, WINDOW_FRAMES - len(mel)), (0, 0)))
        speech = np.zeros(len(mel), dtype=bool)
        for a, b in regions:
            speech[a // HOP: -(-b // HOP)] = True
        if speech.sum() * HOP / RATE < MIN_SPEECH_FOR_SPEAKERS_SECONDS and choice.min_speakers <= 1:
            return runs_to_turns(np.where(speech, 0, -1))  # no embedding could change that

        step = ONE_VOICE_STEP_FRAMES if choice.one_unless_clear else STEP_FRAMES
        starts = np.array(window_starts(regions, len(mel), step))
        # Speakers are found on an even spread of the windows; only those are embedded first.
        chosen = np.unique(np.linspace(0, len(starts) - 1, min(len(starts), MAX_CLUSTERED_WINDOWS)).astype(int))
        sample, sample_starts = self.encoder.embed(mel, starts[chosen]), starts[chosen]
        overlapping = np.abs(sample_starts[:, None] - sample_starts[None, :]) < WINDOW_FRAMES
        seconds_per_window = len(starts) / len(chosen) * step * HOP / RATE
        if choice.one_unless_clear:
            found = clustering.cluster(sample, overlapping, 2, 2)
            if not self._clearly_two(sample, found, seconds_per_window):
                return runs_to_turns(np.where(speech, 0, -1))
        else:
            found = clustering.cluster(sample, overlapping, choice.min_speakers, choice.max_speakers)
            found = clustering.fold_small(sample, found, round(MIN_SPEAKER_SECONDS / seconds_per_window),
                                          choice.min_speakers)
        means = clustering.centroids(sample, found.labels, found.count)
        # The other windows are embedded only where the speaker may change: between two
        # overlapping windows of the spread that give one speaker they would only confirm it
        # (a short region apart from its neighbours, a turn of its own, is always embedded).
        best = (sample @ means.T).argmax(axis=1)
        rest = np.setdiff1d(np.arange(len(starts)), chosen)
        after = np.searchsorted(chosen, rest)  # chosen holds the first and last window
        confirmed = (best[after - 1] == best[after]) & (sample_starts[after] - sample_starts[after - 1] < WINDOW_FRAMES)
        added = starts[rest[~confirmed]]
        starts = np.concatenate([sample_starts, added])
        scores = np.concatenate([sample, self.encoder.embed(mel, added)]) @ means.T
        return numbered_by_first_turn(runs_to_turns(frame_speakers(starts, scores, speech)))

    @staticmethod
    def _clearly_two(embeddings: np.ndarray, found: clustering.Clusters, seconds_per_window: float) -> bool:
        if found.count != 2:
            return False
        first, second = clustering.centroids(embeddings, found.labels, 2)
        smaller = min(np.bincount(found.labels, minlength=2))
        seconds = smaller * seconds_per_window
        return float(first @ second) < CLEAR_SECOND_VOICE_BELOW and seconds >= CLEAR_SECOND_VOICE_SECONDS
