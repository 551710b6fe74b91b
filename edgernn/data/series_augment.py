"""Seeded augmentation of sequence-classification series, for sets with few training examples.

Four transforms from the time-series augmentation literature (Um et al. 2017; Iwana and Uchida
2021), each applied to a training series with probability 1/2, drawn anew for every batch of every
epoch from a seeded generator, at one ``strength`` s in [0, 1] (0 = off):
- jitter: add Gaussian noise of std 0.05 s (inputs are normalized, so this is 5% of a std at s=1);
- scaling: multiply each channel by a factor drawn from N(1, 0.2 s);
- window warping: a window of 10% of the series is resampled by a factor in [1 - 0.5 s, 1 + s]
  and the series resampled back to its length (a local speed change);
- mixup within a class: blend with another training series of the same class by a weight in
  [0, 0.5 s) (within a class, so the label stays a hard label and the loss is unchanged).
Padding steps (NaN) stay padding. Validation and test data are never augmented; the strength
``train`` uses by default is chosen on validation accuracy (see docs/guides/long-series.md).
"""
from __future__ import annotations

import numpy as np

from edgernn.errors import UserError

JITTER_STD = 0.05
SCALE_STD = 0.2
WARP_WINDOW = 0.1
MIXUP_MAX = 0.5
APPLY_PROB = 0.5
AUTO_STRENGTHS = (0.0, 1.0)  # what --augment-strength auto compares on validation


def check_strength(value) -> float | str:
    if value is None or value == "auto":
        return "auto"
    try:
        s = float(value)
    except (TypeError, ValueError):
        raise UserError(f"--augment-strength must be a number from 0 to 1 or 'auto' (got {value!r})") from None
    if not 0.0 <= s <= 1.0:  # NaN fails too
        raise UserError(f"--augment-strength must be a number from 0 to 1 or 'auto' (got {value!r})")
    return s


def _chosen(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.random(n) < APPLY_PROB


def jitter(X: np.ndarray, rng, strength: float) -> np.ndarray:
    pick = _chosen(rng, len(X))
    noise = rng.normal(0.0, JITTER_STD * strength, size=X.shape).astype(X.dtype)
    return np.where(pick[:, None, None], X + noise, X)


def scaling(X: np.ndarray, rng, strength: float) -> np.ndarray:
    pick = _chosen(rng, len(X))
    factor = rng.normal(1.0, SCALE_STD * strength, size=(len(X), 1, X.shape[2])).astype(X.dtype)
    return np.where(pick[:, None, None], X * factor, X)


def _resample(x: np.ndarray, length: int) -> np.ndarray:
    """[T, F] -> [length, F] by linear interpolation."""
    src = np.linspace(0.0, 1.0, len(x))
    dst = np.linspace(0.0, 1.0, length)
    return np.stack([np.interp(dst, src, x[:, f]) for f in range(x.shape[1])], axis=1)


def window_warp(X: np.ndarray, rng, strength: float) -> np.ndarray:
    out = X.copy()
    steps = X.shape[1]
    width = max(2, int(round(WARP_WINDOW * steps)))
    if steps < 4 or width >= steps:
        return out
    for i in np.flatnonzero(_chosen(rng, len(X))):
        real = np.flatnonzero(~np.isnan(X[i]).any(axis=1))
        if len(real) < 2 * width or len(real) != real[-1] - real[0] + 1:
            continue  # too short to warp a window of it (or holes): leave it as it is
        x = X[i, real[0]:]
        start = int(rng.integers(0, len(x) - width))
        factor = rng.uniform(1.0 - 0.5 * strength, 1.0 + strength)
        warped = _resample(x[start:start + width], max(2, int(round(width * factor))))
        out[i, real[0]:] = _resample(np.concatenate([x[:start], warped, x[start + width:]]), len(x))
    return out


def mixup_within_class(X: np.ndarray, y: np.ndarray, rng, strength: float, pool_X: np.ndarray,
                       pool_y: np.ndarray) -> np.ndarray:
    """Series i blended with a random series of its class from the pool (the training split)."""
    out = X.copy()
    for i in np.flatnonzero(_chosen(rng, len(X))):
        partner = pool_X[int(rng.choice(np.flatnonzero(pool_y == y[i])))]
        lam = rng.uniform(0.0, MIXUP_MAX * strength)
        both = ~(np.isnan(X[i]) | np.isnan(partner))  # padding of either side stays as series i has it
        out[i][both] = (1 - lam) * X[i][both] + lam * partner[both]
    return out


def augment_series(X: np.ndarray, y: np.ndarray, rng: np.random.Generator, strength: float,
                   pool: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """The four transforms in order on a batch [N, T, F] with labels ``y``; mixup partners come from
    ``pool`` = (series, labels), by default the batch itself."""
    if strength <= 0:
        return X
    X = np.asarray(X, dtype=np.float32)
    X = window_warp(X, rng, strength)
    X = scaling(X, rng, strength)
    X = jitter(X, rng, strength)
    pool_X, pool_y = pool if pool is not None else (X, y)
    return mixup_within_class(X, np.asarray(y), rng, strength, pool_X, np.asarray(pool_y)).astype(np.float32)
