"""Run folders: what ``train`` writes and every later step reads.

runs/NAME/
  model.keras          tf_keras model (float)
  config.json          task, arch, units, layers, input_shape, class_names, data, input_norm, ...
  metrics.json         test metrics (same schema as ``eval``)
  history.json         per-epoch loss/accuracy
  training_curve.png, confusion_matrix.png (classification) or anomaly_scores.png (anomaly)
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from edgernn.errors import UserError
from edgernn.features.series import znorm_series
from edgernn.io import read_json
from edgernn.models.frame import framed_shape, stack_frames

RUN_FILES = ("model.keras", "config.json")


def check_run(run_dir: str | Path) -> Path:
    run = Path(run_dir)
    if not run.is_dir():
        raise UserError(f"{run}: no such run folder")
    missing = [f for f in RUN_FILES if not (run / f).exists()]  # a FIFO etc. is refused when read
    if missing:
        raise UserError(f"{run}: not a complete run folder (missing {', '.join(missing)})")
    return run


def load_config(run_dir: str | Path) -> dict:
    return read_config(check_run(run_dir) / "config.json")


# config.json schema: key -> (accepted types, check on the value, what it must be). Keys marked optional
# may be missing; every key present is checked. One validator, used wherever a run folder is read.
_INT = (int,)
_NUM = (int, float)


def _finite(v) -> bool:
    return isinstance(v, _NUM) and not isinstance(v, bool) and bool(np.isfinite(v))


def _int_in(lo: int, hi: int):
    return lambda v: isinstance(v, int) and not isinstance(v, bool) and lo <= v <= hi


CONFIG_SCHEMA = {
    "task": (lambda v: v in ("kws", "classify", "anomaly"), "one of kws, classify, anomaly"),
    "arch": (lambda v: isinstance(v, str) and v.isalnum() and v.islower() and len(v) <= 16, "a cell name such as gru"),
    "units": (_int_in(1, 4096), "an integer 1..4096"),
    "layers": (_int_in(1, 16), "an integer 1..16"),
    "input_shape": (lambda v: isinstance(v, list) and len(v) == 2 and all(_int_in(1, 1_000_000)(d) for d in v),
                    "[steps, features], two positive integers"),
    "class_names": (lambda v: isinstance(v, list) and 1 <= len(v) <= 10_000 and all(isinstance(c, str) for c in v),
                    "a list of 1..10000 strings"),
    "data": (lambda v: isinstance(v, str) and 0 < len(v) < 4096, "the dataset path (a string)"),
    "input_norm": (lambda v: isinstance(v, dict) and isinstance(v.get("mean"), list) and isinstance(v.get("std"), list),
                   "{mean: [...], std: [...]}"),
}
OPTIONAL_SCHEMA = {
    "dropout": (lambda v: _finite(v) and 0 <= v < 1, "a number in [0, 1)"),
    "threshold": (_finite, "a finite number"),
    "anomaly_model": (lambda v: v in ("predictor", "autoencoder"), "predictor or autoencoder"),
    "data_options": (lambda v: isinstance(v, dict), "an object"),
    "params": (_int_in(0, 10**12), "a non-negative integer"),
    "macs": (_int_in(0, 10**15), "a non-negative integer"),
    "float32_bytes": (_int_in(0, 10**13), "a non-negative integer"),
    "epochs_run": (_int_in(0, 10**7), "a non-negative integer"),
    "train_seconds": (lambda v: _finite(v) and v >= 0, "a non-negative number"),
    # classify runs, docs/guides/long-series.md: raw series shape, frame size, normalization, augmentation
    "series_shape": (lambda v: isinstance(v, list) and len(v) == 2 and all(_int_in(1, 1_000_000)(d) for d in v),
                     "[steps, features] of the series before frame stacking"),
    "frame": (_int_in(1, 4096), "an integer 1..4096"),
    "normalize": (lambda v: v in ("series", "feature", "none"), "one of series, feature, none"),
    "augment_strength": (lambda v: _finite(v) and 0 <= v <= 1, "a number in [0, 1]"),
}


def validate_config(config, where: str | Path = "config.json") -> dict:
    """``config`` if it matches the run-folder schema; else a UserError naming the first bad key."""
    if not isinstance(config, dict):
        raise UserError(f"{where}: must be a JSON object, got {type(config).__name__}")
    for key, (ok, expected) in CONFIG_SCHEMA.items():
        if key not in config:
            raise UserError(f"{where}: missing key {key!r} ({expected})")
        if not ok(config[key]):
            raise UserError(f"{where}: {key!r} must be {expected}, got {json.dumps(config[key])[:60]}")
    for key, (ok, expected) in OPTIONAL_SCHEMA.items():
        if key in config and not ok(config[key]):
            raise UserError(f"{where}: {key!r} must be {expected}, got {json.dumps(config[key])[:60]}")
    features = config["input_shape"][1]
    for stat in ("mean", "std"):
        values = config["input_norm"][stat]
        if len(values) != features or not all(_finite(v) for v in values):
            raise UserError(f"{where}: input_norm.{stat} must be {features} finite numbers (one per feature)")
    if not all(v > 0 for v in config["input_norm"]["std"]):
        raise UserError(f"{where}: input_norm.std must be positive")
    if "frame" in config or "series_shape" in config:
        steps, feats = config.get("series_shape", config["input_shape"])
        if config.get("frame", 1) > steps or framed_shape(steps, feats, config.get("frame", 1)) != config["input_shape"]:
            raise UserError(f"{where}: input_shape must be series_shape framed by frame")
    if config["task"] == "anomaly" and "threshold" not in config:
        raise UserError(f"{where}: missing key 'threshold' (anomaly runs need one)")
    if config["task"] != "anomaly" and len(config["class_names"]) < 2:
        raise UserError(f"{where}: class_names must name at least 2 classes")
    return config


def read_config(path: str | Path) -> dict:
    """Read and validate a run's config.json."""
    return validate_config(read_json(path), path)


def load_run(run_dir: str | Path):
    """(tf_keras model, config dict) of a run folder."""
    from edgernn.io import load_keras_model

    run = check_run(run_dir)
    config = load_config(run)
    return load_keras_model(run / "model.keras"), config


def input_norm(X: np.ndarray) -> dict:
    """Per-feature mean and std over all windows and steps of the training split; padding steps
    (NaN, see ``data.npz``) are not data and are left out."""
    flat = X.reshape(-1, X.shape[-1]).astype(np.float64)
    flat = flat[~np.isnan(flat).any(axis=1)]
    std = flat.std(axis=0)
    return {"mean": flat.mean(axis=0).tolist(), "std": np.where(std < 1e-8, 1.0, std).tolist()}


def series_shape(config: dict) -> tuple[int, int]:
    """[steps, features] of the series a run reads (before frame stacking; older runs: input_shape)."""
    return tuple(config.get("series_shape", config["input_shape"]))


def normalize_series(X: np.ndarray, config: dict) -> np.ndarray:
    """Raw series -> per-series normalized when the run says so (``normalize: series``); shape checked."""
    X = np.asarray(X, dtype=np.float32)
    if X.ndim != 3 or X.shape[1:] != series_shape(config):
        raise UserError(f"data shape {tuple(X.shape[1:])} does not match the model's input "
                        f"{series_shape(config)}")
    if config.get("normalize") == "series":
        return znorm_series(X)
    return X


def to_model_inputs(X: np.ndarray, config: dict) -> np.ndarray:
    """Normalized series -> frames (``frame``) -> standardized with the run's training statistics."""
    k = config.get("frame", 1)
    if k > 1:
        X = stack_frames(X, k)
    norm = config["input_norm"]
    mean = np.asarray(norm["mean"], dtype=np.float32)
    std = np.asarray(norm["std"], dtype=np.float32)
    # padding steps (NaN) become 0, the standardized mean: the most neutral input the model can see
    return np.nan_to_num((X - mean) / std, nan=0.0)


def prepare_inputs(X: np.ndarray, config: dict) -> np.ndarray:
    """Raw features -> what the model takes: per-series normalized if the run says so, frame-stacked
    (docs/guides/long-series.md), standardized with the run's training statistics.

    Every consumer of a run (eval, quantize calibration, bench, firmware test vectors) calls
    this, so the float, int8, ONNX and C models all see identical inputs (padding included).
    """
    return to_model_inputs(normalize_series(X, config), config)


def load_data_for_run(config: dict, data: str | Path | None = None, test_only: bool = False):
    """The dataset a run was trained on (or ``data``), loaded the same way.

    ``test_only``: ``data`` holds only data to evaluate on (an npz of test rows, a Speech Commands
    folder with some words, a CSV to score as a whole); the run's config supplies the classes,
    the standardization and the windows, so nothing has to be learnt from it.
    """
    from edgernn.data import load_dataset

    opts = dict(config.get("data_options", {}))
    if test_only:
        opts["test_only"] = True
        if config["task"] == "classify":
            opts["class_names"] = config["class_names"]
        if config["task"] == "anomaly":
            meta = config.get("dataset_meta", {})
            opts.setdefault("window", meta.get("window", config["input_shape"][0]))
            if opts["window"] == "auto":
                opts["window"] = config["input_shape"][0]
            opts.setdefault("stride", meta.get("stride"))
            opts.pop("train_end", None)
            if meta.get("label_column"):
                opts.setdefault("label_column", meta["label_column"])
    return load_dataset(data or config["data"], task=config["task"], **opts)
