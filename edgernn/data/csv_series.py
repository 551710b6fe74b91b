"""Loader for multichannel time series in CSV, for anomaly detection.

Input: a folder with train.csv / val.csv / test.csv, or one CSV that is split by time:
with ``train_end=R`` rows before R are known-normal (the last fifth of them validates, for the
threshold) and rows from R on are the test part; without it the first 60% trains, the next 20%
validates and the last 20% is tested. Every numeric column except ``time`` and the label column
is a channel. A label column (0 normal, non-zero anomalous) is optional; without it every sample
counts as normal. Windows of ``window`` samples every ``stride`` samples become the sequences
(``window="auto"``: one period of the training part's dominant period, see ``suggest_window``);
a window is anomalous if any of its samples is. Training and validation keep only normal windows
(the model learns what normal looks like); labelled anomalies they drop are reported in
``meta["warnings"]``, never dropped silently. The test split keeps its series labels and window
start rows so scores can be mapped back onto the series.
"""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from edgernn.data.dataset import Dataset, Split
from edgernn.errors import UserError

IGNORED = {"time", "timestamp", "t", "anomaly_kind"}


def read_series(path: Path, label_column: str = "label"):
    """(channel names, values [n, C] float64, labels [n] int64) from one CSV file."""
    try:
        with open(path, newline="") as f:
            rows = list(csv.reader(f))
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except (UnicodeDecodeError, csv.Error) as e:
        raise UserError(f"{path}: not a readable CSV ({e})") from None
    if len(rows) < 2:
        raise UserError(f"{path}: needs a header row and at least one data row")
    header = [h.strip() for h in rows[0]]
    if all(_is_number(h) for h in header):
        raise UserError(f"{path}: first row must be a header naming the columns")
    first = rows[1]
    channels = [i for i, h in enumerate(header)
                if h.lower() not in IGNORED and h != label_column and i < len(first) and _is_number(first[i])]
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
    return v


def windows(values: np.ndarray, labels: np.ndarray, window: int, stride: int):
    """[n, C] -> ([N, window, C] float32, [N] labels: 1 if any sample in the window is anomalous)."""
    starts = np.arange(0, len(values) - window + 1, stride)
    idx = starts[:, None] + np.arange(window)[None, :]
    return values[idx].astype(np.float32), labels[idx].max(axis=1)


def dominant_period(values: np.ndarray, max_lag: int | None = None) -> tuple[int | None, float]:
    """(period in samples, autocorrelation there) of a [n, C] series; (None, r) if none is clear.

    The period is the lag of the highest autocorrelation peak after the autocorrelation first
    drops below zero (channels standardized and averaged), searched up to a third of the series.
    """
    x = np.asarray(values, dtype=np.float64)
    x = (x - x.mean(axis=0)) / np.where(x.std(axis=0) > 1e-12, x.std(axis=0), 1.0)
    n = len(x)
    max_lag = min(max_lag or n // 3, n // 3)
    if max_lag < 4:
        return None, 0.0
    spec = np.fft.rfft(x, n=2 * n, axis=0)
    acf = np.fft.irfft(spec * np.conj(spec), axis=0)[:max_lag + 1].mean(axis=1)
    acf = acf / acf[0] if acf[0] > 0 else acf
    below = np.flatnonzero(acf < 0)
    if not len(below):
        return None, 0.0
    lag = int(below[0] + np.argmax(acf[below[0]:]))
    r = float(acf[lag])
    return (lag, r) if r >= PERIOD_MIN_ACF and lag < max_lag else (None, r)


PERIOD_MIN_ACF = 0.2
DEFAULT_WINDOW, DEFAULT_STRIDE = 64, 32


def suggest_window(values: np.ndarray) -> dict:
    """Window and stride for a series: one dominant period (16..512 samples), stride a quarter of it.

    A predictor needs about one period of context to predict the next sample, and per-sample
    scores come from every window covering a sample, so a quarter-window stride suffices.
    """
    period, r = dominant_period(values)
    if period is None:
        return {"window": DEFAULT_WINDOW, "stride": DEFAULT_STRIDE, "period": None, "acf": round(r, 3),
                "why": "no clear dominant period; the default window"}
    window = int(min(512, max(16, period)))
    return {"window": window, "stride": max(1, window // 4), "period": period, "acf": round(r, 3),
            "why": f"dominant period {period} samples (autocorrelation {r:.2f})"}


def _split_single(v: np.ndarray, lab: np.ndarray, train_end: int | None, path: Path):
    """{split: (values, labels, first row)} of one CSV split by time."""
    n = len(v)
    if train_end is None:
        a, b = int(n * 0.6), int(n * 0.8)
    else:
        if not 0 < train_end < n:
            raise UserError(f"{path}: --train-end {train_end} is outside the series (rows 1..{n - 1} of {n} "
                            "samples; it is the first row of the test part)")
        a, b = int(train_end * 0.8), train_end
    return {"train": (v[:a], lab[:a], 0), "val": (v[a:b], lab[a:b], a), "test": (v[b:], lab[b:], b)}


def _dropped_anomalies(split: str, lab: np.ndarray, row0: int) -> str | None:
    idx = np.flatnonzero(lab)
    if not len(idx):
        return None
    return (f"{len(idx)} labelled anomalous sample(s) in the {split} part (rows {row0 + idx[0]}..{row0 + idx[-1]}) "
            f"are left out: {split} keeps only normal windows; pass --train-end ROW (the first row of the test "
            "part) to test on them")


def _load_test_only(path: Path, window, stride, label_column: str) -> Dataset:
    if window == "auto":
        raise UserError("eval needs the run's window; 'auto' is resolved when training")
    stride = stride or DEFAULT_STRIDE
    file = path / "test.csv" if path.is_dir() else path
    channel_names, v, lab = read_series(file, label_column)
    if len(v) < window:
        raise UserError(f"{file}: --window {window} is longer than the series ({len(v)} samples, fewer than one window)")
    X, y = windows(v, lab, window, stride)
    test = Split(X, y.astype(np.int64), series_labels=lab.astype(np.int64),
                 starts=np.arange(0, len(v) - window + 1, stride), row0=0)
    empty = Split(X[:0], test.y[:0])
    meta = {"channels": channel_names, "window": int(window), "stride": int(stride), "label_column": label_column,
            "test_only": True, "warnings": []}
    return Dataset("anomaly", {"train": empty, "val": empty, "test": test}, ["normal", "anomaly"], str(path), meta)


def load_csv_series(path: str | Path, window: int | str = DEFAULT_WINDOW, stride: int | None = None,
                    label_column: str = "label", seed: int = 0, train_end: int | None = None,
                    test_only: bool = False) -> Dataset:
    """Load CSV time series as windowed anomaly-detection splits (``window="auto"``: suggested).

    ``test_only`` (for ``eval``): the whole CSV (or a folder's test.csv) is the test part.
    """
    path = Path(path)
    if test_only:
        return _load_test_only(path, window, stride, label_column)
    auto = window == "auto"
    if not auto and (not isinstance(window, (int, np.integer)) or window < 2):
        raise UserError(f"--window must be an integer >= 2 or 'auto' (got {window!r})")
    if stride is not None and stride < 1:
        raise UserError(f"--stride must be >= 1 (got {stride})")
    if path.is_dir() and train_end is not None:
        raise UserError(f"{path}: --train-end applies to one CSV file, not a folder with train/test CSVs")
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
        series = {s: (v, lab, 0) for s, (_, v, lab) in parts.items()}
    else:
        channel_names, v, lab = read_series(path, label_column)
        series = _split_single(v, lab, train_end, path)
    suggestion = suggest_window(series["train"][0]) if len(series["train"][0]) >= 12 else None
    if auto:
        if suggestion is None:
            raise UserError(f"{path}: the training part has {len(series['train'][0])} samples, too few to suggest a window")
        window, stride = suggestion["window"], stride or suggestion["stride"]
    stride = stride or DEFAULT_STRIDE
    total = sum(len(v) for v, _, _ in series.values())
    if window > total:
        raise UserError(f"{path}: --window {window} is longer than the series ({total} samples, fewer than one window)")
    splits, warnings = {}, []
    for s, (v, lab, row0) in series.items():
        if len(v) < window:
            if s == "val":  # too short to validate: the threshold comes from training windows instead
                warnings.append(f"the validation part has {len(v)} samples, fewer than one window ({window}); "
                                "the threshold is set on training windows")
                continue
            raise UserError(f"{path}: the {s} part has {len(v)} samples, fewer than one window ({window}); "
                            "use a shorter --window" + ("" if s == "test" or train_end is None else " or a later --train-end"))
        step = stride if s == "test" else max(1, stride // 2)  # more normal windows to learn and set the threshold on
        X, y = windows(v, lab, window, step)
        if s in ("train", "val"):
            note = _dropped_anomalies(s, lab, row0)
            if note:
                warnings.append(note)
            X, y = X[y == 0], y[y == 0]  # learn normal behaviour only
            splits[s] = Split(X, y.astype(np.int64))
        else:
            splits[s] = Split(X, y.astype(np.int64), series_labels=lab.astype(np.int64),
                              starts=np.arange(0, len(v) - window + 1, step), row0=int(row0))
    if len(splits["train"]) == 0:
        raise UserError(f"{path}: no normal windows to train on (every training window is labelled anomalous)")
    if "val" not in splits or len(splits["val"]) == 0:
        splits["val"] = Split(splits["train"].X[:0], splits["train"].y[:0])
    meta = {"channels": channel_names, "window": int(window), "stride": int(stride), "label_column": label_column,
            "train_end": train_end, "suggested": suggestion, "warnings": warnings}
    return Dataset("anomaly", splits, ["normal", "anomaly"], str(path), meta)
