"""Per-series z-normalization, the UCR archive's convention (see docs/guides/long-series.md).

``series``: each channel of each series is shifted to mean 0 and scaled to std 1 over its own
real steps (padding steps, NaN, are left out and stay NaN), so the model sees shape, not offset or
amplitude. ``feature``: the run's training statistics per feature (``train.run.input_norm``), the
default before this existed. ``none``: the raw values.

A channel that is constant over a series has no shape to scale: per-series normalization of it
is refused (a user error naming the series) rather than divided by zero.
"""
from __future__ import annotations

import contextlib
import warnings

import numpy as np

from edgernn.errors import UserError

NORMALIZE = ("series", "feature", "none")
# a channel whose std is below this (relative to its magnitude, or absolutely) is called constant
CONSTANT_STD = 1e-8


def check_normalize(value) -> str:
    if value is None:
        return "auto"
    if value not in (*NORMALIZE, "auto"):
        raise UserError(f"--normalize must be one of {', '.join(NORMALIZE)} or auto (got {value!r})")
    return value


def constant_series(X: np.ndarray) -> np.ndarray:
    """Indices of the series with a channel that is constant over its real steps."""
    X = np.asarray(X, dtype=np.float64)
    with _quiet():
        std = np.nanstd(X, axis=1)
        scale = np.nanmax(np.abs(X), axis=1)
    flat = ~(std > CONSTANT_STD * np.maximum(1.0, np.nan_to_num(scale)))  # NaN std (no real step) too
    return np.flatnonzero(flat.any(axis=1))


def znorm_series(X: np.ndarray, where: str = "") -> np.ndarray:
    """[N, T, F] -> each series' channels at mean 0, std 1 over their real steps; NaN padding kept.
    ``where`` names the rows in the error (e.g. "the train split's ")."""
    bad = constant_series(X)
    if len(bad):
        raise UserError(f"--normalize series: {where}series {int(bad[0])} (of {len(X)}) has a constant channel, which "
                        f"cannot be scaled to std 1 ({len(bad)} such series); use --normalize feature")
    X = np.asarray(X, dtype=np.float64)
    with _quiet():
        mean = np.nanmean(X, axis=1, keepdims=True)
        std = np.nanstd(X, axis=1, keepdims=True)
    return ((X - mean) / std).astype(np.float32)


@contextlib.contextmanager
def _quiet():
    """nanmean/nanstd/nanmax warn on all-NaN slices (a series of padding only); those give NaN, handled above."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield
