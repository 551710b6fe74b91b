"""Real public datasets that ship inside a Python wheel (no network at run time).

``sktime`` (the ``real`` extra: ``pip install edgernn[real]``) bundles a few UCR/UEA
sequence-classification sets and two labelled anomaly series. ``aeon`` bundles more, but
every aeon release needs a numba that pins numpy below our numpy, so it is never installed or
imported: the sets marked ``aeon:`` are read straight out of its pinned, hash-checked wheel
(``edgernn.wheels``; ``make setup`` downloads it). Their ``.ts`` files are still parsed
by sktime's loader.

``load_bundled(name)`` returns the arrays of an edgernn data file:
- classification: ``X`` [N, T, F] float32, ``y`` [N] int64, ``split`` [N] ("train"/"val"/"test"),
  ``class_names`` [C], ``lengths`` [N] int64. The archive's test split stays the test split; a
  seeded stratified part of the archive's train split becomes the validation split. Variable-length
  sets are stored with each sequence at the start of its row, zero-padded after it, and its length
  in ``lengths`` (the npz loader moves the padding before the data, see docs/guides/data.md,
  "Variable-length sequences").
- anomaly: ``series`` [n, C] float64, ``label`` [n] int64 (1 anomalous), ``channels`` [C]; written
  out as a CSV (``value...,label``) that ``--task anomaly`` reads; ``train_end``: the first row
  after the archive's own known-normal part (the UCR anomaly archive's TRAIN part), else None.
"""
from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

import numpy as np

from edgernn import defaults as D
from edgernn.errors import UserError

AEON = "aeon:"  # location prefix: inside the pinned aeon wheel, under AEON_DATA
AEON_DATA = "aeon/datasets/data/"
# name -> (kind, folder/file in sktime/datasets/data (or "aeon:" + one in the aeon wheel), one-line description)
BUNDLED: dict[str, tuple[str, str, str]] = {
    "ArrowHead": ("classify", "ArrowHead", "UCR, 3 arrowhead shapes from outlines, 251 steps, 36 train / 175 test"),
    "ItalyPowerDemand": ("classify", "ItalyPowerDemand", "UCR, winter vs summer daily power demand, 24 steps, 67 / 1029"),
    "OSULeaf": ("classify", "OSULeaf", "UCR, 6 leaf species from outlines, 427 steps, 200 / 242"),
    "ACSF1": ("classify", "ACSF1", "UCR, 10 appliances from power draw, 1460 steps, 100 / 100"),
    "GunPoint": ("classify", "GunPoint", "UCR, gun draw vs pointing (hand x position), 150 steps, 50 / 150"),
    "BasicMotions": ("classify", "BasicMotions", "UEA, 4 activities, 6 IMU channels, 100 steps, 40 / 40"),
    "JapaneseVowels": ("classify", "JapaneseVowels",
                       "UEA, 9 speakers, 12 LPC channels, variable length 7-29 steps, 270 / 370"),
    "PLAID": ("classify", "PLAID", "UCR, 11 appliances from current, variable length 100-1344 steps, 537 / 537"),
    "yahoo": ("anomaly", "yahoo/yahoo.csv", "Yahoo S5 series, 1000 samples, 7 point anomalies"),
    "mitdb": ("anomaly", "mitdb/mitdb.csv", "MIT-BIH ECG excerpt, 7500 samples, one labelled anomalous stretch"),
    "UnitTest": ("classify", "UnitTest", "UCR ChinaTown cut down (its train split, 22 of its test cases): "
                 "weekday vs weekend pedestrian counts, 24 steps, 20 / 22"),
    "PickupGestureWiimoteZ": ("classify", AEON + "PickupGestureWiimoteZ",
                              "UCR, 10 Wiimote gestures (z acceleration), variable length 29-361 steps, 50 / 50"),
    "ucr135": ("anomaly", AEON + "KDD-TSAD_135/135_UCR_Anomaly_InternalBleeding16_TEST.csv",
               "UCR anomaly archive (KDD Cup 2021) no. 135, InternalBleeding16: 7501 samples, "
               "rows 0-1199 known normal, one labelled anomaly (rows 4187-4198)"),
    "daphnet": ("anomaly", AEON + "Daphnet_S06R02E0/S06R02E0.csv",
                "Daphnet freezing of gait, subject 6 run 2: 7040 samples, 9 accelerometer channels; "
                "no sample of this excerpt is labelled anomalous"),
}
# The archive's own known-normal part of an anomaly series (a file holding the series' first rows).
KNOWN_NORMAL_PART = {"ucr135": "KDD-TSAD_135/135_UCR_Anomaly_InternalBleeding16_TRAIN.csv"}
AEON_LABEL_COLUMN = "is_anomaly"


def bundled_names(kind: str | None = None) -> list[str]:
    return [n for n, (k, _, _) in BUNDLED.items() if kind is None or k == kind]


def _resolve(name: str) -> str:
    for n in BUNDLED:
        if n.lower() == str(name).lower():
            return n
    raise UserError(f"unknown bundled dataset {name!r} (choose from {', '.join(BUNDLED)})")


def _source(name: str) -> str:
    return "aeon" if BUNDLED[name][1].startswith(AEON) else "sktime"


@contextlib.contextmanager
def _files(name: str, *relative: str):
    """Paths of files ``relative`` (to the data folder) of bundled set ``name``; files in the aeon
    wheel are extracted into a temporary folder that is removed afterwards."""
    if _source(name) == "sktime":
        yield [_data_dir() / r for r in relative]
        return
    from edgernn.wheels import extract_member

    with tempfile.TemporaryDirectory(prefix="edgernn-wheel-") as tmp:
        yield [extract_member("aeon", AEON_DATA + r, Path(tmp)) for r in relative]


def _location(name: str) -> str:
    return BUNDLED[name][1].removeprefix(AEON)


def _data_dir() -> Path:
    try:
        import sktime.datasets
    except ImportError:
        raise UserError("bundled datasets need sktime: pip install 'edgernn[real]'") from None
    return Path(sktime.datasets.__file__).parent / "data"


def _read_ts(path: Path):
    """(list of [T_i, F] float arrays, list of str labels) from one .ts file."""
    try:  # also for .ts files from the aeon wheel: sktime's reader parses them
        from sktime.datasets import load_from_tsfile
    except ImportError:
        raise UserError("bundled datasets need sktime: pip install 'edgernn[real]'") from None

    X, y = load_from_tsfile(str(path), return_data_type="nested_univ")
    seqs = []
    for i in range(len(X)):
        channels = [np.asarray(X.iloc[i, j], dtype=np.float64) for j in range(X.shape[1])]
        T = min(len(c) for c in channels)  # channels of one case have one length in these sets
        seqs.append(np.stack([c[:T] for c in channels], axis=1))
    return seqs, [str(v) for v in y]


def _class_order(labels: list[str]) -> list[str]:
    """Numeric labels in numeric order ("2" before "10"), others alphabetically."""
    unique = sorted(set(labels))
    try:
        return sorted(unique, key=float)
    except ValueError:
        return unique


def validation_split(y: np.ndarray, seed: int, fraction: float) -> np.ndarray:
    """Boolean mask of a stratified validation part: round(fraction * n_k) per class, at least
    one when a class has 2+ training samples, and never the class's last training sample."""
    rng = np.random.default_rng(seed)
    val = np.zeros(len(y), dtype=bool)
    for k in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == k))
        n = min(len(idx) - 1, max(1, int(round(len(idx) * fraction)))) if len(idx) > 1 else 0
        val[idx[:n]] = True
    return val


def _classification(name: str, seed: int, val_fraction: float) -> dict:
    folder = _location(name)
    with _files(name, f"{folder}/{name}_TRAIN.ts", f"{folder}/{name}_TEST.ts") as (train_file, test_file):
        train, y_train = _read_ts(train_file)
        test, y_test = _read_ts(test_file)
    seqs, labels = train + test, y_train + y_test
    classes = _class_order(labels)
    y = np.array([classes.index(v) for v in labels], dtype=np.int64)
    lengths = np.array([len(s) for s in seqs], dtype=np.int64)
    X = np.zeros((len(seqs), int(lengths.max()), seqs[0].shape[1]), dtype=np.float32)
    for i, s in enumerate(seqs):
        X[i, :len(s)] = s
    split = np.array(["train"] * len(train) + ["test"] * len(test), dtype="U5")
    val = validation_split(y[:len(train)], seed, val_fraction)
    split[:len(train)][val] = "val"
    return {"X": X, "y": y, "split": split, "class_names": np.array(classes), "lengths": lengths}


def _anomaly(name: str) -> dict:
    from edgernn.data.csv_series import read_series

    label_column = AEON_LABEL_COLUMN if _source(name) == "aeon" else "label"
    normal_part = KNOWN_NORMAL_PART.get(name)
    with _files(name, _location(name), *([normal_part] if normal_part else [])) as files:
        channels, values, labels = read_series(files[0], label_column)
        train_end = None
        if normal_part:
            _, normal, _ = read_series(files[1], label_column)
            # the archive's TRAIN file is the series' first rows; check that before trusting it
            if len(normal) >= len(values) or not np.array_equal(normal, values[:len(normal)]):
                raise UserError(f"{name}: the archive's known-normal part is not the start of the series")
            train_end = len(normal)
    return {"series": values, "label": labels, "channels": np.array(channels), "train_end": train_end}


def known_normal_end(name: str) -> int | None:
    """First row after the archive's own known-normal part of anomaly series ``name`` (None if it gives none):
    the value for ``--train-end``."""
    name = _resolve(name)
    return load_bundled(name)["train_end"] if name in KNOWN_NORMAL_PART else None


def load_bundled(name: str, seed: int = D.SEED, val_fraction: float = D.BUNDLED_VAL_FRACTION) -> dict:
    """The arrays of bundled dataset ``name`` (case-insensitive; see ``BUNDLED``)."""
    name = _resolve(name)
    if not 0 <= val_fraction < 1:
        raise UserError(f"val_fraction must be in [0, 1), got {val_fraction}")
    if BUNDLED[name][0] == "classify":
        return _classification(name, seed, val_fraction)
    return _anomaly(name)


def write_bundled(name: str, out: str | Path, seed: int = D.SEED, val_fraction: float = D.BUNDLED_VAL_FRACTION,
                  overwrite: bool = False) -> Path:
    """Write bundled dataset ``name`` to ``out``: ``.npz`` for classification, ``.csv`` for anomaly."""
    import io

    from edgernn.io import atomic_write_bytes, atomic_write_text, check_out

    name, out = _resolve(name), Path(out)
    want = ".npz" if BUNDLED[name][0] == "classify" else ".csv"
    if out.suffix != want:
        raise UserError(f"{out}: {name} is a {BUNDLED[name][0]}-task dataset; write it to a {want} file")
    check_out(out, "file", overwrite=overwrite)
    arrays = load_bundled(name, seed=seed, val_fraction=val_fraction)
    if want == ".npz":
        buf = io.BytesIO()
        np.savez_compressed(buf, **arrays)
        return atomic_write_bytes(out, buf.getvalue())
    header = ",".join([*arrays["channels"].tolist(), "label"])
    lines = [header] + [",".join([*(repr(float(v)) for v in row), str(int(lab))])
                        for row, lab in zip(arrays["series"], arrays["label"])]
    return atomic_write_text(out, "\n".join(lines) + "\n")


def bundled_table() -> dict:
    """The bundled datasets as a table dict (title, columns, rows)."""
    from edgernn.wheels import PINNED_WHEELS, fetch_command, has_wheel

    aeon = f"aeon {PINNED_WHEELS['aeon'][0]} wheel" + ("" if has_wheel("aeon") else " (not downloaded)")
    rows = [[n, k, "sktime" if _source(n) == "sktime" else aeon, d] for n, (k, _, d) in BUNDLED.items()]
    title = "real datasets bundled with sktime (install the real extra of edgernn) or in the aeon wheel"
    if not has_wheel("aeon"):
        title += f"; fetch that wheel with: {fetch_command('aeon')}"
    return {"title": title, "columns": ["name", "task", "source", "description"], "rows": rows}
