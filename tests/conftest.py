"""Shared fixtures. Tests build tiny models and datasets in seconds."""
from __future__ import annotations

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

import numpy as np
import pytest


@pytest.fixture
def tiny_npz(tmp_path):
    """A 3-class sequence-classification .npz whose class is readable from the data."""
    rng = np.random.default_rng(0)
    n, t, f = 240, 12, 4
    y = rng.integers(0, 3, n)
    X = rng.normal(0, 0.3, (n, t, f)).astype(np.float32)
    X[np.arange(n), :, y] += 1.0  # class k lifts feature k
    split = np.array(["train"] * 160 + ["val"] * 40 + ["test"] * 40)
    path = tmp_path / "tiny.npz"
    np.savez(path, X=X, y=y, split=split)
    return path
