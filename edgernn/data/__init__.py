"""Datasets: built-in synthetic ones and loaders for the user's own data.

``load_dataset(path)`` picks the loader from what ``path`` is:
- a folder in the Speech Commands layout (one folder per word, ``_background_noise_/``) -> kws
- a ``.npz`` with ``X`` [N, T, F] and ``y`` [N] (optional ``split``)                    -> classify
- a ``.csv`` of multichannel time series, or a folder with ``train.csv``/``test.csv``    -> anomaly
"""
from __future__ import annotations

from pathlib import Path

from edgernn.data.dataset import SPLITS, TASKS, Dataset, Split  # noqa: F401  (re-exported)
from edgernn.errors import UserError


def detect_task(path: str | Path) -> str:
    p = Path(path)
    if not p.exists():
        raise UserError(f"{p}: no such file or folder")
    if not p.is_dir():
        from edgernn.io import check_regular_file

        check_regular_file(p, "dataset file (.npz or .csv) or folder")  # FIFOs and devices: refused, not read
        if p.suffix == ".npz":
            return "classify"
        if p.suffix == ".csv":
            return "anomaly"
        raise UserError(f"{p}: unknown data format (expected a folder, .npz or .csv)")
    if (p / "train.csv").exists() or (p / "test.csv").exists():
        return "anomaly"
    return "kws"


def preflight(path: str | Path, task: str | None = None) -> None:
    """Fail fast, before workers start, on a dataset that cannot load: a listing for keyword folders (their
    features take minutes to compute), the loader itself for the other formats (seconds)."""
    if detect_task(path) == "kws" and task in (None, "kws"):
        from edgernn.data.speech_commands import default_keywords, list_clips

        list_clips(Path(path), default_keywords(Path(path)))
    else:
        load_dataset(path, task=task)


def load_dataset(path: str | Path, task: str | None = None, **options) -> Dataset:
    """Load any supported dataset; ``options`` go to the format's loader."""
    kind = detect_task(path)
    if task is not None and task not in TASKS:
        raise UserError(f"unknown task {task!r} (choose from {', '.join(TASKS)})")
    if task == "anomaly" and kind != "anomaly":
        raise UserError(f"{path}: task 'anomaly' needs a .csv or a folder with train.csv/test.csv")
    if task in ("kws", "classify") and kind == "anomaly":
        raise UserError(f"{path}: looks like anomaly data (CSV); use --task anomaly")
    if kind == "kws":
        from edgernn.data.speech_commands import load_speech_commands
        return _call_loader(load_speech_commands, path, "a keyword folder", options)
    if kind == "classify":
        from edgernn.data.npz import load_npz
        return _call_loader(load_npz, path, "an .npz dataset", options)
    from edgernn.data.csv_series import load_csv_series
    return _call_loader(load_csv_series, path, "anomaly series", options)


def _call_loader(loader, path, what: str, options: dict) -> Dataset:
    """``loader(path, **options)``, where an option the loader does not take is one error line (an option
    of another format, e.g. --holdout-engine on an .npz) instead of a TypeError; unset (None) ones are dropped."""
    import inspect

    accepted = inspect.signature(loader).parameters
    foreign = sorted(k for k, v in options.items() if k not in accepted and v is not None)
    if foreign:
        names = ", ".join("--" + k.replace("_", "-") for k in foreign)
        raise UserError(f"{path}: {names} does not apply to {what}")
    return loader(path, **{k: v for k, v in options.items() if k in accepted})
