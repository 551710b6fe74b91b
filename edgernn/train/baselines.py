"""Baselines printed beside every classifier's figure: majority class, 1-NN Euclidean, 1-NN DTW.

A recurrent model that cannot beat its nearest neighbour on the same split has not earned its
instructions. All three see the same split and the same normalized series as the model (before
frame stacking, padding steps as 0): the reference set is the training and validation rows (the
archive's train split for the bundled sets), the queries are the test rows.

1-NN DTW uses a Sakoe-Chiba band of 10% of the length (a common fixed window in the UCR archive's
tables) and runs only when it is cheap: at most ``DTW_MAX_CELLS`` cost-matrix cells in all.
It is a small vectorized numpy DTW: tslearn and aeon need a numba that pins numpy below ours.
See docs/guides/long-series.md.
"""
from __future__ import annotations

import math

import numpy as np

DTW_BAND = 0.1
DTW_MAX_CELLS = 2 * 10 ** 9  # ~20-60 s of numpy on this machine kind
CHUNK_PAIRS = 200_000  # query x reference pairs per vectorized block (memory ~ pairs x band x 8 bytes)


def majority_accuracy(y_ref: np.ndarray, y_test: np.ndarray) -> float:
    """Accuracy of always answering the reference set's most frequent class."""
    majority = np.bincount(np.asarray(y_ref, dtype=np.int64)).argmax()
    return float(np.mean(np.asarray(y_test) == majority))


def _flat(X: np.ndarray) -> np.ndarray:
    return np.nan_to_num(np.asarray(X, dtype=np.float64)).reshape(len(X), -1)


def euclidean_distances(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances [len(B), len(A)] between the flattened series of B and of A."""
    A, B = _flat(A), _flat(B)
    d = (B ** 2).sum(1)[:, None] - 2 * B @ A.T + (A ** 2).sum(1)[None, :]
    return np.maximum(d, 0.0)


def band_width(steps: int, band: float = DTW_BAND) -> int:
    return max(1, int(math.ceil(band * steps)))


def dtw_cells(n_ref: int, n_test: int, steps: int, features: int, band: float = DTW_BAND) -> int:
    return n_ref * n_test * steps * (2 * band_width(steps, band) + 1) * features


def dtw_distances(A: np.ndarray, B: np.ndarray, band: float = DTW_BAND) -> np.ndarray:
    """DTW distances [len(B), len(A)] (sum of squared per-step differences along the best warping path,
    multivariate steps compared as vectors) within a Sakoe-Chiba band of ``band`` x the length.

    Vectorized over all pairs; the recurrence runs over the band's cells, row by row:
    D[i, j] = c(i, j) + min(D[i-1, j], D[i, j-1], D[i-1, j-1]), |i - j| <= w.
    """
    A = np.nan_to_num(np.asarray(A, dtype=np.float64))
    B = np.nan_to_num(np.asarray(B, dtype=np.float64))
    steps, w = A.shape[1], band_width(A.shape[1], band)
    out = np.empty((len(B), len(A)))
    rows = max(1, CHUNK_PAIRS // max(1, len(A)))
    for s in range(0, len(B), rows):
        out[s:s + rows] = _dtw_block(A, B[s:s + rows], steps, w)
    return out


def _dtw_block(A: np.ndarray, B: np.ndarray, steps: int, w: int) -> np.ndarray:
    # prev/cur hold row i of the cost matrix at columns i-w .. i+w (offset o = j - i + w), per pair
    width = 2 * w + 1
    inf = np.full((len(B), len(A)), np.inf)
    prev = [inf] * width
    for i in range(steps):
        cur = [inf] * width
        for o in range(width):
            j = i + o - w
            if j < 0 or j >= steps:
                continue
            cost = ((B[:, None, i, :] - A[None, :, j, :]) ** 2).sum(-1)
            if i == 0 and j == 0:
                cur[o] = cost
                continue
            best = prev[o + 1] if o + 1 < width else inf  # D[i-1, j]
            if o > 0:
                best = np.minimum(best, cur[o - 1])  # D[i, j-1]
            best = np.minimum(best, prev[o])  # D[i-1, j-1]
            cur[o] = cost + best
        prev = cur
    return prev[w]  # D[T-1, T-1]


def one_nn_accuracy(distances: np.ndarray, y_ref: np.ndarray, y_test: np.ndarray) -> float:
    """Accuracy of the nearest reference's label (ties: the first reference)."""
    return float(np.mean(np.asarray(y_ref)[distances.argmin(axis=1)] == np.asarray(y_test)))


def baselines(X_ref: np.ndarray, y_ref: np.ndarray, X_test: np.ndarray, y_test: np.ndarray,
              dtw_max_cells: int = DTW_MAX_CELLS) -> dict:
    """{"majority": acc, "nn_euclidean": acc, "nn_dtw": acc or None, "dtw_band": w/T, "dtw_note": ...}."""
    out = {"majority": majority_accuracy(y_ref, y_test),
           "nn_euclidean": one_nn_accuracy(euclidean_distances(X_ref, X_test), y_ref, y_test),
           "nn_dtw": None, "dtw_band": DTW_BAND, "reference_rows": int(len(X_ref)), "test_rows": int(len(X_test))}
    cells = dtw_cells(len(X_ref), len(X_test), X_ref.shape[1], X_ref.shape[2])
    if cells <= dtw_max_cells:
        out["nn_dtw"] = one_nn_accuracy(dtw_distances(X_ref, X_test), y_ref, y_test)
    else:
        out["dtw_note"] = f"not run: {cells:.2g} cost cells, above the {dtw_max_cells:.2g} budget"
    return out
