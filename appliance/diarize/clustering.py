"""How many speakers, and which window is whose: spectral clustering with its own count.

The count comes from NME-SC (Park et al., "Auto-tuning spectral clustering for speaker
diarization using normalized maximum eigengap", 2019): keep each window's p most similar
windows, and pick the p whose graph shows the clearest eigengap relative to p. No distance
threshold is tuned to one recording's loudness or one encoder's scale: a fixed cosine
threshold merged both speakers of pyannote's sample, whose voices are as close as two
sentences of one reader.

One change to the paper: windows that overlap in time are never counted as each other's
neighbours. Overlapping windows share most of their audio, so they are always nearest; with
them a single reader's graph broke into one clique per sentence (7 "speakers" for one voice).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# The neighbour count p is searched up to this share of the windows (the paper uses 0.25;
# single speakers need a larger p to show as one connected graph) ...
MAX_NEIGHBOUR_SHARE = 0.4
# ... at no more than this many values of p (each costs one eigendecomposition).
MAX_P_TRIED = 40


@dataclass(frozen=True)
class Clusters:
    labels: np.ndarray  # one label per window, 0..count-1
    count: int


def _laplacian(affinity: np.ndarray) -> np.ndarray:
    return np.diag(affinity.sum(axis=1)) - affinity


def _neighbour_graph(similarity: np.ndarray, p: int) -> np.ndarray:
    graph = np.zeros_like(similarity)
    nearest = np.argsort(-similarity, axis=1)[:, :p]
    np.put_along_axis(graph, nearest, 1.0, axis=1)
    return (graph + graph.T) / 2


def kmeans(points: np.ndarray, k: int, iterations: int = 50) -> np.ndarray:
    """Deterministic k-means (farthest-point start) on a few hundred rows; labels 0..k-1."""
    centres = [points[0]]
    for _ in range(1, k):
        distance = np.min([((points - c) ** 2).sum(axis=1) for c in centres], axis=0)
        centres.append(points[int(np.argmax(distance))])
    centres = np.array(centres)
    labels = np.zeros(len(points), dtype=int)
    for _ in range(iterations):
        labels = ((points[:, None, :] - centres[None]) ** 2).sum(axis=2).argmin(axis=1)
        moved = np.array([points[labels == i].mean(axis=0) if (labels == i).any() else centres[i] for i in range(k)])
        if np.allclose(moved, centres):
            break
        centres = moved
    return labels


def cluster(
    embeddings: np.ndarray,
    overlapping: np.ndarray,
    min_speakers: int = 1,
    max_speakers: int = 8,
) -> Clusters:
    """Label unit-vector embeddings; `overlapping[i, j]` marks windows that share audio."""
    n = len(embeddings)
    if n < 3 or max_speakers <= 1:
        return Clusters(np.zeros(n, dtype=int), 1 if n else 0)
    max_speakers = min(max_speakers, n - 1)
    min_speakers = max(1, min(min_speakers, max_speakers))
    similarity = np.where(overlapping, -1.0, embeddings @ embeddings.T)
    best = None
    # The search needs eigenvalues only (a third of a full decomposition's cost); the
    # eigenvectors are computed once, for the p chosen.
    for p in np.unique(np.linspace(2, max(3, int(n * MAX_NEIGHBOUR_SHARE)), MAX_P_TRIED).astype(int)):
        values = np.linalg.eigvalsh(_laplacian(_neighbour_graph(similarity, p)))
        gaps = np.diff(values[: max_speakers + 1])
        count = int(np.argmax(gaps[min_speakers - 1:]) + min_speakers)
        # The gap relative to the largest eigenvalue, against the share of neighbours kept.
        ratio = (p / n) / (gaps[count - 1] / (values[-1] + 1e-10) + 1e-10)
        if best is None or ratio < best[0]:
            best = (ratio, count, p)
    _, count, p = best
    if count == 1:
        return Clusters(np.zeros(n, dtype=int), 1)
    spectral = np.linalg.eigh(_laplacian(_neighbour_graph(similarity, p)))[1][:, :count]
    spectral = spectral / (np.linalg.norm(spectral, axis=1, keepdims=True) + 1e-10)
    # A cluster k-means left empty is no speaker: number the others 0..n-1.
    _, labels = np.unique(kmeans(spectral, count), return_inverse=True)
    return Clusters(labels, int(labels.max()) + 1)


def fold_small(embeddings: np.ndarray, found: Clusters, min_windows: int, min_count: int = 1) -> Clusters:
    """Fold the smallest cluster into its most similar one while it has fewer than
    `min_windows` windows (and more than `min_count` clusters remain)."""
    labels, count = found.labels.copy(), found.count
    while count > max(1, min_count):
        sizes = np.bincount(labels, minlength=count)
        smallest = int(np.argmin(sizes))
        if sizes[smallest] >= min_windows:
            break
        means = centroids(embeddings, labels, count)
        similarity = means @ means[smallest]
        similarity[smallest] = -np.inf
        labels[labels == smallest] = int(np.argmax(similarity))
        _, labels = np.unique(labels, return_inverse=True)
        count -= 1
    return Clusters(labels, count)


def centroids(embeddings: np.ndarray, labels: np.ndarray, count: int) -> np.ndarray:
    means = np.stack([embeddings[labels == i].mean(axis=0) for i in range(count)])
    return means / np.linalg.norm(means, axis=1, keepdims=True)
