"""Resemblyzer's pretrained speaker encoder (GE2E d-vectors) in numpy: no torch needed.

The network (3-layer LSTM over 40 mel bands, 1.6 s windows, 256-d unit vectors) is rebuilt
here and only its weights file (`pretrained.pt` from the `resemblyzer` PyPI package, installed
as the model `speaker-encoder`) is read, by `torch_weights.py`. torch would add gigabytes to
the base install (PyPI's Linux torch is a CUDA build) for one small LSTM; the resemblyzer
package itself would pull librosa, numba and webrtcvad. The mel front end reproduces
`resemblyzer.audio.wav_to_mel_spectrogram` (librosa's Slaney mel bank, power spectrum, 25 ms
Hann window, 10 ms hop).
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from appliance.errors import ModelMissing

RATE = 16000
N_FFT = 400  # 25 ms
HOP = 160  # 10 ms: one mel frame
N_MELS = 40
WINDOW_FRAMES = 160  # the 1.6 s "partial utterance" the encoder was trained on
HIDDEN = 256
LAYERS = 3
# The encoder expects speech normalised to this level (resemblyzer's preprocess_wav).
TARGET_DBFS = -30.0
MODEL_NAME = "speaker-encoder"
WEIGHTS_FILE = "pretrained.pt"


def weights_path(models_dir: Path) -> Path:
    path = Path(models_dir) / MODEL_NAME / WEIGHTS_FILE
    if not path.is_file():
        raise ModelMissing(f"the speaker encoder's weights are missing ({path}): "
                           f"run `appliance models install {MODEL_NAME}` (bin/install does)")
    return path


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    # Slaney's scale: linear below 1 kHz, logarithmic above.
    hz = np.asarray(hz, dtype=np.float64)
    mel = hz / (200.0 / 3)
    log_part = 15.0 + np.log(np.maximum(hz, 1e-10) / 1000.0) / (np.log(6.4) / 27.0)
    return np.where(hz >= 1000.0, log_part, mel)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    mel = np.asarray(mel, dtype=np.float64)
    return np.where(mel >= 15.0, 1000.0 * np.exp((np.log(6.4) / 27.0) * (mel - 15.0)), mel * (200.0 / 3))


@functools.cache
def mel_filterbank() -> np.ndarray:
    """(N_MELS, N_FFT // 2 + 1) Slaney-normalised triangles, as librosa.filters.mel builds them."""
    fft_hz = np.linspace(0, RATE / 2, N_FFT // 2 + 1)
    edges = _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(RATE / 2), N_MELS + 2))
    widths = np.diff(edges)
    ramps = edges[:, None] - fft_hz[None, :]
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (edges[2:] - edges[:-2]))[:, None]
    return weights.astype(np.float32)


def mel_frames(samples: np.ndarray, block: int = 6000) -> np.ndarray:
    """(frames, N_MELS) power mel spectrogram, one frame per 10 ms (centred, zero-padded).

    Computed `block` frames (60 s) at a time: a 4-hour recording's spectrum at once would
    take gigabytes.
    """
    padded = np.pad(samples.astype(np.float32), N_FFT // 2)
    if len(padded) < N_FFT:
        return np.zeros((0, N_MELS), dtype=np.float32)
    frames = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP]
    window = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)).astype(np.float32)
    bank = mel_filterbank().T
    parts = [(np.abs(np.fft.rfft(frames[i: i + block] * window, axis=1)) ** 2) @ bank
             for i in range(0, len(frames), block)]
    return np.concatenate(parts).astype(np.float32)


def normalise_level(samples: np.ndarray, regions: list[tuple[int, int]]) -> np.ndarray:
    """Scale so that the speech (the samples inside `regions`) sits at TARGET_DBFS."""
    energy = sum(float(np.dot(samples[a:b], samples[a:b])) for a, b in regions)
    count = sum(b - a for a, b in regions)
    rms = (energy / count) ** 0.5 if count else 0.0
    if rms < 1e-6:
        return samples
    return samples * np.float32(10 ** (TARGET_DBFS / 20) / rms)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # no overflow warnings for large |x|


class VoiceEncoder:
    """Mel windows in, L2-normalised 256-d speaker embeddings out (CPU, numpy)."""

    def __init__(self, models_dir: Path) -> None:
        from appliance.diarize.torch_weights import load_state_dict

        state = load_state_dict(weights_path(models_dir))["model_state"]
        # PyTorch's LSTM: gates stacked input, forget, cell, output; both biases add up.
        self.layers = [
            (state[f"lstm.weight_ih_l{n}"].T.copy(), state[f"lstm.weight_hh_l{n}"].T.copy(),
             state[f"lstm.bias_ih_l{n}"] + state[f"lstm.bias_hh_l{n}"])
            for n in range(LAYERS)
        ]
        self.linear = (state["linear.weight"].T.copy(), state["linear.bias"])

    def embed(self, mel: np.ndarray, starts: np.ndarray, batch: int = 256) -> np.ndarray:
        """The WINDOW_FRAMES-long windows of `mel` that begin at `starts` -> (n, 256) unit vectors."""
        from threadpoolctl import threadpool_limits

        # One BLAS thread: the LSTM makes 480 small products per batch, and OpenBLAS's threads
        # spin between them (5x the CPU time, and slower, on 2 shared cores).
        with threadpool_limits(1, user_api="blas"):
            return self._embed(mel, starts, batch)

    def _embed(self, mel: np.ndarray, starts: np.ndarray, batch: int) -> np.ndarray:
        out = []
        for first in range(0, len(starts), batch):
            windows = np.stack([mel[s: s + WINDOW_FRAMES] for s in starts[first: first + batch]])
            hidden = self._last_hidden(windows.astype(np.float32))
            weight, bias = self.linear
            raw = np.maximum(hidden @ weight + bias, 0.0)
            out.append(raw / np.maximum(np.linalg.norm(raw, axis=1, keepdims=True), 1e-8))
        return np.concatenate(out).astype(np.float32) if out else np.zeros((0, HIDDEN), dtype=np.float32)

    def _last_hidden(self, sequence: np.ndarray) -> np.ndarray:
        """(batch, time, features) -> the top layer's hidden state after the last frame."""
        count, steps, _ = sequence.shape
        for input_weight, hidden_weight, bias in self.layers:
            # The input's share of every gate for all frames in one product; only the
            # recurrent part has to go frame by frame.
            projected = sequence @ input_weight + bias
            hidden = np.zeros((count, HIDDEN), dtype=np.float32)
            cell = np.zeros((count, HIDDEN), dtype=np.float32)
            outputs = np.empty((count, steps, HIDDEN), dtype=np.float32)
            for t in range(steps):
                gates = projected[:, t] + hidden @ hidden_weight
                i, f, g, o = np.split(gates, 4, axis=1)
                cell = _sigmoid(f) * cell + _sigmoid(i) * np.tanh(g)
                hidden = _sigmoid(o) * np.tanh(cell)
                outputs[:, t] = hidden
            sequence = outputs
        return hidden
