"""Loader for multichannel time series in CSV, for anomaly detection.

Input: a folder with train.csv / val.csv / test.csv, or one CSV that is split by time
(first 60% train, next 20% validation, last 20% test). Every numeric column except ``time``
and the label column is a channel. A label column (0 normal, non-zero anomalous) is optional;
without it every sample counts as normal. Windows of ``window`` samples every ``stride``
samples become the sequences; a window is anomalous if any of its samples is. Training and
validation keep only normal windows (the model learns what normal looks like).
"""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from edgernn.data.dataset import Dataset, Split
from edgernn.errors import UserError

IGNORED = {"time", "timestamp", "t", "anomaly_kind"}
MAX_CSV_BYTES = 2 * 1024 ** 3
SNIFF_ROWS = 100
FLOAT32_MAX = float(np.finfo(np.float32).max)


def read_series(path: Path, label_column: str = "label"):
    """(channel names, values [n, C] float64, labels [n] int64) from one CSV file."""
    from edgernn.io import read_user_file

    data = read_user_file(path, "CSV file", MAX_CSV_BYTES)  # regular files only, bounded
    try:
        rows = list(csv.reader(data.decode("utf-8-sig").splitlines()))
    except (UnicodeDecodeError, csv.Error) as e:
        raise UserError(f"{path}: not a readable CSV ({str(e)[:120]})") from None
    if len(rows) < 2:
        raise UserError(f"{path}: needs a header row and at least one data row")
    header = [h.strip() for h in rows[0]]
    if all(_is_number(h) for h in header):
        raise UserError(f"{path}: first row must be a header naming the columns")
    # A column is a channel if any of the first rows holds a number in it (not only the first row: an
    # empty or "n/a" cell there must be reported, not silently drop the channel). Every cell of a
    # channel must then be a number.
    head = rows[1:1 + SNIFF_ROWS]
    channels = [i for i, h in enumerate(header)
                if h.lower() not in IGNORED and h != label_column
                and any(i < len(r) and _is_number(r[i]) for r in head)]
    if not channels:
        raise UserError(f"{path}: no numeric channel columns")
    lab = header.index(label_column) if label_column in header else None
    values = np.empty((len(rows) - 1, len(channels)), dtype=np.float64)
    labels = np.zeros(len(rows) - 1, dtype=np.int64)
    for r, row in enumerate(rows[1:]):
        if len(row) != len(header):
            raise UserError(f"{path}: row {r + 2} has {len(row)} fields, the header has {len(header)}")
        for j, c in enumerate(channels):
            values[r, j] = _number(row[c], path, r + 2, header[c])
        if lab is not None:
            labels[r] = int(_number(row[lab], path, r + 2, label_column) != 0)
    return [header[c] for c in channels], values, labels


def _is_number(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


def _number(s: str, path, row: int, col: str) -> float:
    try:
        v = float(s)
    except ValueError:
        raise UserError(f"{path}: row {row}, column {col!r}: {s!r} is not a number") from None
    if not np.isfinite(v):
        raise UserError(f"{path}: row {row}, column {col!r}: {s} (NaN/inf not allowed)")
    if abs(v) > FLOAT32_MAX:  # would become inf in float32 and train a NaN model
        raise UserError(f"{path}: row {row}, column {col!r}: {s} is beyond the float32 range (|x| > 3.4e38)")
    return v


def windows(values: np.ndarray, labels: np.ndarray, window: int, stride: int):
    """[n, C] -> ([N, window, C] float32, [N] labels: 1 if any sample in the window is anomalous)."""
    starts = np.arange(0, len(values) - window + 1, stride)
    idx = starts[:, None] + np.arange(window)[None, :]
    return values[idx].astype(np.float32), labels[idx].max(axis=1)


def load_csv_series(path: str | Path, window: int = 64, stride: int = 32, label_column: str = "label",
                    seed: int = 0) -> Dataset:
    """Load CSV time series as windowed anomaly-detection splits."""
    path = Path(path)
    if window < 2 or stride < 1:
        raise UserError("window must be >= 2 and stride >= 1")
    if path.is_dir():
        names = {s: path / f"{f}.csv" for s, f in (("train", "train"), ("val", "val"), ("test", "test"))}
        for s in ("train", "test"):
            if not names[s].is_file():
                raise UserError(f"{path}: missing {names[s].name}")
        parts = {s: read_series(p, label_column) for s, p in names.items() if p.is_file()}
        channel_names = parts["train"][0]
        for s, (ch, _, _) in parts.items():
            if ch != channel_names:
                raise UserError(f"{names[s]}: channels {ch} differ from train.csv's {channel_names}")
        series = {s: (v, lab) for s, (_, v, lab) in parts.items()}
    else:
        channel_names, v, lab = read_series(path, label_column)
        a, b = int(len(v) * 0.6), int(len(v) * 0.8)
        series = {"train": (v[:a], lab[:a]), "val": (v[a:b], lab[a:b]), "test": (v[b:], lab[b:])}
    splits = {}
    for s, (v, lab) in series.items():
        if len(v) < window:
            raise UserError(f"{path}: the {s} split has {len(v)} samples, fewer than one window ({window})")
        X, y = windows(v, lab, window, stride if s != "train" else max(1, stride // 2))
        if s in ("train", "val"):
            X, y = X[y == 0], y[y == 0]  # learn normal behaviour only
        splits[s] = Split(X, y.astype(np.int64))
    if len(splits["train"]) == 0:
        raise UserError(f"{path}: no normal windows to train on (every training window is labelled anomalous)")
    if "val" not in splits or len(splits["val"]) == 0:
        splits["val"] = Split(splits["train"].X[:0], splits["train"].y[:0])
    meta = {"channels": channel_names, "window": window, "stride": stride, "label_column": label_column}
    return Dataset("anomaly", splits, ["normal", "anomaly"], str(path), meta)
