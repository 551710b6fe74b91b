"""Loader for generic sequence classification data in one ``.npz``.

Keys: ``X`` [N, T, F] numbers, ``y`` [N] integer labels 0..C-1 (or strings, mapped to
their sorted order), optional ``split`` [N] of "train"/"val"/"test" and optional
``class_names`` [C]. Without ``split`` a seeded, stratified 80/10/10 split is made.
"""
from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from edgernn.data.dataset import SPLITS, Dataset, Split
from edgernn.errors import UserError


MAX_NPZ_BYTES = 4 * 1024 ** 3
MAX_CLASSES = 10_000


def _open(path: Path) -> dict:
    from edgernn.io import check_regular_file, check_zip_bounds

    check_regular_file(path, ".npz dataset", MAX_NPZ_BYTES)  # FIFOs and devices refused, never read
    check_zip_bounds(path, None, ".npz dataset", max_unpacked=2 * MAX_NPZ_BYTES)
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as e:
        raise UserError(f"{path}: not a readable .npz ({str(e)[:100]})") from None


def _labels(y: np.ndarray, names, path: Path):
    if names is not None and (names.ndim != 1 or not 1 <= len(names) <= MAX_CLASSES):
        raise UserError(f"{path}: class_names must be a 1-D list of 1..{MAX_CLASSES} names, got shape {names.shape}")
    if y.dtype.kind in "US":
        classes = sorted(set(y.tolist()))
        if len(classes) > MAX_CLASSES:
            raise UserError(f"{path}: {len(classes)} distinct labels; at most {MAX_CLASSES} classes")
        return np.searchsorted(np.array(classes), y).astype(np.int64), classes
    if y.dtype.kind not in "iu" and not (y.dtype.kind == "f" and np.all(np.isfinite(y)) and np.all(y == np.round(y))):
        raise UserError(f"{path}: y must hold integer class labels (got {y.dtype})")
    if y.min() < 0:
        raise UserError(f"{path}: y has negative labels")
    # Bound the label values before anything is sized by them: every class needs samples, so a label
    # can be at most N - 1 (and the class count stays small), whatever the file claims.
    top = y.max()
    if top >= min(len(y), MAX_CLASSES):
        raise UserError(f"{path}: label value {top:.0f} is too large: labels must be 0..C-1 with every class "
                        f"present, C <= {MAX_CLASSES} and C <= the {len(y)} samples")
    y = y.astype(np.int64)
    n = int(y.max()) + 1
    classes = [str(c) for c in names] if names is not None else [str(i) for i in range(n)]
    if len(classes) < n:
        raise UserError(f"{path}: class_names has {len(classes)} names but y goes up to {n - 1}")
    return y, classes


def stratified_split(y: np.ndarray, seed: int, val_fraction: float, test_fraction: float) -> np.ndarray:
    rng = np.random.default_rng(seed)
    split = np.full(len(y), "train", dtype=object)
    for k in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == k))
        n_test, n_val = int(round(len(idx) * test_fraction)), int(round(len(idx) * val_fraction))
        split[idx[:n_test]] = "test"
        split[idx[n_test:n_test + n_val]] = "val"
    return split


def load_npz(path: str | Path, seed: int = 0, val_fraction: float = 0.1, test_fraction: float = 0.1) -> Dataset:
    path = Path(path)
    z = _open(path)
    for key in ("X", "y"):
        if key not in z:
            raise UserError(f"{path}: missing array {key!r} (need X [N, T, F] and y [N])")
    X, y = z["X"], z["y"]
    if X.ndim != 3:
        raise UserError(f"{path}: X must be 3-D [N, T, F], got shape {X.shape}")
    if y.ndim != 1 or len(y) != len(X):
        raise UserError(f"{path}: y must be 1-D with one label per row of X ({len(X)}), got shape {y.shape}")
    if min(X.shape) == 0:
        raise UserError(f"{path}: X has shape {X.shape}; N (samples), T (steps) and F (features) must all be >= 1")
    if X.dtype.kind not in "iuf":
        raise UserError(f"{path}: X must be numeric, got {X.dtype}")
    if not np.all(np.isfinite(X)):
        raise UserError(f"{path}: X contains NaN or inf")
    if X.dtype.kind == "f" and X.dtype.itemsize > 4 and np.abs(X).max() > np.finfo(np.float32).max:
        raise UserError(f"{path}: X has values beyond the float32 range (|x| > 3.4e38); rescale the data")
    y, classes = _labels(y, z.get("class_names"), path)
    if len(np.unique(y)) < 2:
        raise UserError(f"{path}: every sample has the same label; classification needs at least 2 classes")
    if "split" in z:
        split = z["split"].astype(str)
        if len(split) != len(X):
            raise UserError(f"{path}: split has {len(split)} entries, X has {len(X)} rows")
        unknown = sorted(set(split.tolist()) - set(SPLITS))
        if unknown:
            raise UserError(f"{path}: unknown split name(s) {unknown} (use train, val, test)")
    else:
        split = stratified_split(y, seed, val_fraction, test_fraction)
    splits = {s: Split(X[split == s].astype(np.float32), y[split == s]) for s in SPLITS}
    missing = [classes[k] for k in range(len(classes)) if not np.any(splits["train"].y == k)]
    if missing:
        raise UserError(f"{path}: class(es) with no training samples: {', '.join(missing)}")
    if len(splits["test"]) == 0:
        raise UserError(f"{path}: the test split is empty")
    return Dataset("classify", splits, classes, str(path), {"source_format": "npz"})
