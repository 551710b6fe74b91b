"""Loader for generic sequence classification data in one ``.npz``.

Keys: ``X`` [N, T, F] numbers, ``y`` [N] integer labels 0..C-1 (or strings, mapped to
their sorted order), optional ``split`` [N] of "train"/"val"/"test" and optional
``class_names`` [C]. Without ``split`` a seeded, stratified 80/10/10 split is made.

Variable-length sequences: either ``lengths`` [N] (row i holds its sequence in its first
``lengths[i]`` steps; what follows is padding of any value), or NaN padding (whole NaN steps
before or after the sequence). Either way the loaded rows are *pre-padded*: padding steps come
before the data and hold NaN, so the last step the recurrent layer reads is real data.
Standardization ignores the NaN steps and turns them into zeros (``train.run.prepare_inputs``),
the same for training, eval, quantization calibration, ONNX/C test vectors and firmware vectors.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from edgernn.data.dataset import SPLITS, Dataset, Split
from edgernn.errors import UserError


MAX_NPZ_BYTES = 4 * 1024 ** 3
MAX_CLASSES = 10_000


def _open(path: Path) -> dict:
    from edgernn.arrays import read_npz

    return read_npz(path, ".npz dataset", MAX_NPZ_BYTES)  # every member a real .npy, sizes checked first


def _labels(y: np.ndarray, names, path: Path, max_classes: int | None = None):
    """(int64 labels, class names). ``max_classes``: the bound on label values (default: the samples, at
    most MAX_CLASSES, since every class of a training set needs samples)."""
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
    if max_classes is not None and top >= max_classes:
        raise UserError(f"{path}: label {top:.0f} is beyond the run's {max_classes} classes")
    if top >= min(len(y), MAX_CLASSES) and max_classes is None:
        raise UserError(f"{path}: label value {top:.0f} is too large: labels must be 0..C-1 with every class "
                        f"present, C <= {MAX_CLASSES} and C <= the {len(y)} samples")
    y = y.astype(np.int64)
    n = int(y.max()) + 1
    classes = [str(c) for c in names] if names is not None else [str(i) for i in range(n)]
    if len(classes) < n:
        raise UserError(f"{path}: class_names has {len(classes)} names but y goes up to {n - 1}")
    return y, classes


def _split(split: np.ndarray, n: int, path: Path) -> np.ndarray:
    """The ``split`` array as N strings; a column (N, 1) or any other shape is refused, since comparing it
    with the rows of X would broadcast to an (N, N) mask instead of selecting rows."""
    if split.ndim != 1 or split.dtype.kind not in "US":
        raise UserError(f"{path}: split must be a 1-D array of strings (train, val, test), got shape "
                        f"{split.shape} of {split.dtype}")
    if len(split) != n:
        raise UserError(f"{path}: split has {len(split)} entries, X has {n} rows")
    return split.astype(str)


def stratified_split(y: np.ndarray, seed: int, val_fraction: float, test_fraction: float) -> np.ndarray:
    rng = np.random.default_rng(seed)
    split = np.full(len(y), "train", dtype=object)
    for k in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == k))
        n_test, n_val = int(round(len(idx) * test_fraction)), int(round(len(idx) * val_fraction))
        split[idx[:n_test]] = "test"
        split[idx[n_test:n_test + n_val]] = "val"
    return split


def _run_labels(y: np.ndarray, names, run_classes: list[str], path: Path) -> np.ndarray:
    """Labels of a test-only file as indices into the run's classes (strings by name, integers as they are)."""
    if names is not None and [str(c) for c in names] != list(run_classes)[:len(names)]:
        raise UserError(f"{path}: class_names {[str(c) for c in names]} differ from the run's {list(run_classes)}")
    if y.dtype.kind in "US":
        unknown = sorted(set(y.tolist()) - set(run_classes))
        if unknown:
            raise UserError(f"{path}: label(s) {unknown[:5]} are not classes of the run ({', '.join(run_classes)})")
        return np.array([run_classes.index(v) for v in y.tolist()], dtype=np.int64)
    y, _ = _labels(y, None, path, max_classes=len(run_classes))
    if len(y) and y.max() >= len(run_classes):
        raise UserError(f"{path}: label {int(y.max())} is beyond the run's {len(run_classes)} classes")
    return y


def load_npz(path: str | Path, seed: int = 0, val_fraction: float = 0.1, test_fraction: float = 0.1,
             test_only: bool = False, class_names: list[str] | None = None) -> Dataset:
    """Load a classification .npz. ``test_only`` (for ``eval``): only test rows are needed (all rows
    without ``split``), labels are read against ``class_names`` (the run's), classes may be absent."""
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
    if X.dtype.kind == "f" and X.dtype.itemsize > 4:
        finite = np.abs(X[np.isfinite(X)])
        if finite.size and finite.max() > np.finfo(np.float32).max:  # would become inf in float32
            raise UserError(f"{path}: X has values beyond the float32 range (|x| > 3.4e38); rescale the data")
    X, lengths = pre_pad(X.astype(np.float32), z.get("lengths"), path)
    if test_only:
        return _test_only(path, X, y, z, class_names)
    y, classes = _labels(y, z.get("class_names"), path)
    if len(np.unique(y)) < 2:
        raise UserError(f"{path}: every sample has the same label; classification needs at least 2 classes")
    if "split" in z:
        split = _split(z["split"], len(X), path)
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
    meta = {"source_format": "npz"}
    if lengths is not None:
        meta.update(padding="pre", min_length=int(lengths.min()), max_length=int(lengths.max()))
    return Dataset("classify", splits, classes, str(path), meta)


def _test_only(path: Path, X: np.ndarray, y: np.ndarray, z: dict, class_names) -> Dataset:
    X, lengths = pre_pad(X.astype(np.float32), z.get("lengths"), path)
    classes = list(class_names) if class_names is not None else _labels(y, z.get("class_names"), path)[1]
    y = _run_labels(y, z.get("class_names"), classes, path)
    if "split" in z:
        split = _split(z["split"], len(X), path)
        keep = split == "test"
        if not keep.any():
            raise UserError(f"{path}: no rows with split 'test' to evaluate on")
        X, y = X[keep], y[keep]
    empty = Split(X[:0], y[:0])
    meta = {"source_format": "npz", "test_only": True}
    if lengths is not None:
        meta.update(padding="pre", min_length=int(lengths.min()), max_length=int(lengths.max()))
    return Dataset("classify", {"train": empty, "val": empty, "test": Split(X, y)}, classes, str(path), meta)


def _nan_lengths(X: np.ndarray, path: Path) -> np.ndarray:
    """Lengths of NaN-padded rows; NaN is allowed only as whole steps around one block of data."""
    pad = np.all(np.isnan(X), axis=2)           # [N, T] padding steps
    partial = np.any(np.isnan(X), axis=2) & ~pad
    if partial.any():
        i, t = map(int, np.argwhere(partial)[0])
        raise UserError(f"{path}: X row {i}, step {t} is partly NaN (NaN padding must fill whole steps)")
    data = ~pad
    lengths = data.sum(axis=1)
    if (lengths == 0).any():
        raise UserError(f"{path}: X row {int(np.flatnonzero(lengths == 0)[0])} is all padding (NaN)")
    first = data.argmax(axis=1)
    last = X.shape[1] - 1 - data[:, ::-1].argmax(axis=1)
    gaps = np.flatnonzero(last - first + 1 != lengths)
    if len(gaps):
        raise UserError(f"{path}: X row {int(gaps[0])} has NaN steps inside the sequence "
                        "(only padding before or after it may be NaN)")
    return lengths


def pre_pad(X: np.ndarray, lengths, path: Path):
    """(X with every sequence at the end of its row and NaN before it, lengths or None)."""
    if np.isinf(X).any():
        raise UserError(f"{path}: X contains inf")
    N, T = X.shape[:2]
    if lengths is None:
        if not np.isnan(X).any():
            return X, None
        lengths = _nan_lengths(X, path)
        starts = np.argmax(~np.all(np.isnan(X), axis=2), axis=1)
    else:
        lengths = np.asarray(lengths)
        if lengths.shape != (N,) or lengths.dtype.kind not in "iu" and not (
                lengths.dtype.kind == "f" and np.all(lengths == np.round(lengths))):
            raise UserError(f"{path}: lengths must be {N} integers, one per row of X (got shape "
                            f"{lengths.shape}, {lengths.dtype})")
        lengths = lengths.astype(np.int64)
        bad = np.flatnonzero((lengths < 1) | (lengths > T))
        if len(bad):
            raise UserError(f"{path}: lengths[{int(bad[0])}] = {int(lengths[bad[0]])} is inconsistent with X "
                            f"(each length must be 1..{T}, the steps of X)")
        starts = np.zeros(N, dtype=np.int64)
        valid = np.arange(T)[None, :] < lengths[:, None]
        if np.isnan(X[valid]).any():
            i = int(np.flatnonzero((np.isnan(X).any(axis=2) & valid).any(axis=1))[0])
            raise UserError(f"{path}: X row {i} has NaN within its first lengths[{i}] = {int(lengths[i])} steps")
    out = np.full_like(X, np.nan)
    for i, (s, n) in enumerate(zip(starts, lengths)):
        out[i, T - n:] = X[i, s:s + n]
    return out, lengths
