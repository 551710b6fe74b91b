"""Run folders: what ``train`` writes and every later step reads.

runs/NAME/
  model.keras          tf_keras model (float)
  config.json          task, arch, units, layers, input_shape, class_names, data, input_norm, ...
  metrics.json         test metrics (same schema as ``eval``)
  history.json         per-epoch loss/accuracy
  training_curve.png, confusion_matrix.png (classification) or anomaly_scores.png (anomaly)
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from edgernn.errors import UserError
from edgernn.features.series import znorm_series
from edgernn.models.frame import stack_frames
from edgernn.records import RunConfig, check_model_matches, read_config  # noqa: F401  (read_config: callers of train.run)

RUN_FILES = ("model.keras", "config.json")


def check_run(run_dir: str | Path) -> Path:
    run = Path(run_dir)
    if not run.is_dir():
        raise UserError(f"{run}: no such run folder")
    missing = [f for f in RUN_FILES if not (run / f).exists()]  # a FIFO etc. is refused when read
    if missing:
        raise UserError(f"{run}: not a complete run folder (missing {', '.join(missing)})")
    return run


def load_config(run_dir: str | Path) -> RunConfig:
    return read_config(check_run(run_dir) / "config.json")


def load_run(run_dir: str | Path):
    """(tf_keras model, RunConfig) of a run folder, the model checked against its record."""
    from edgernn.io import load_keras_model

    run = check_run(run_dir)
    config = load_config(run)
    model = load_keras_model(run / "model.keras")
    check_model_matches(config, model.input_shape, model.output_shape, run / "model.keras")
    return model, config


def input_norm(X: np.ndarray) -> dict:
    """Per-feature mean and std over all windows and steps of the training split; padding steps
    (NaN, see ``data.npz``) are not data and are left out."""
    flat = X.reshape(-1, X.shape[-1]).astype(np.float64)
    flat = flat[~np.isnan(flat).any(axis=1)]
    std = flat.std(axis=0)
    return {"mean": flat.mean(axis=0).tolist(), "std": np.where(std < 1e-8, 1.0, std).tolist()}


def series_shape(config: RunConfig) -> tuple[int, int]:
    """[steps, features] of the series a run reads (before frame stacking; older runs: input_shape)."""
    return tuple(config.series_shape or config.input_shape)


def normalize_series(X: np.ndarray, config: RunConfig) -> np.ndarray:
    """Raw series -> per-series normalized when the run says so (``normalize: series``); shape checked."""
    X = np.asarray(X, dtype=np.float32)
    if X.ndim != 3 or X.shape[1:] != series_shape(config):
        raise UserError(f"data shape {tuple(X.shape[1:])} does not match the model's input "
                        f"{series_shape(config)}")
    if config.normalize == "series":
        return znorm_series(X)
    return X


def to_model_inputs(X: np.ndarray, config: RunConfig) -> np.ndarray:
    """Normalized series -> frames (``frame``) -> standardized with the run's training statistics."""
    k = config.frame or 1
    if k > 1:
        X = stack_frames(X, k)
    mean = np.asarray(config.input_norm.mean, dtype=np.float32)
    std = np.asarray(config.input_norm.std, dtype=np.float32)
    # padding steps (NaN) become 0, the standardized mean: the most neutral input the model can see
    return np.nan_to_num((X - mean) / std, nan=0.0)


def prepare_inputs(X: np.ndarray, config: RunConfig) -> np.ndarray:
    """Raw features -> what the model takes: per-series normalized if the run says so, frame-stacked
    (docs/guides/long-series.md), standardized with the run's training statistics.

    Every consumer of a run (eval, quantize calibration, bench, firmware test vectors) calls
    this, so the float, int8, ONNX and C models all see identical inputs (padding included).
    """
    return to_model_inputs(normalize_series(X, config), config)


def load_data_for_run(config: RunConfig, data: str | Path | None = None, test_only: bool = False):
    """The dataset a run was trained on (or ``data``), loaded the same way.

    ``test_only``: ``data`` holds only data to evaluate on (an npz of test rows, a Speech Commands
    folder with some words, a CSV to score as a whole); the run's config supplies the classes,
    the standardization and the windows, so nothing has to be learnt from it.
    """
    from edgernn.data import load_dataset

    opts = config.loader_options()
    if test_only:
        opts["test_only"] = True
        if config.task == "classify":
            opts["class_names"] = config.class_names
        if config.task == "anomaly":
            meta = config.dataset_meta
            opts.setdefault("window", meta.window if meta and meta.window else config.steps)
            if opts["window"] == "auto":
                opts["window"] = config.steps
            opts.setdefault("stride", meta.stride if meta else None)
            opts.pop("train_end", None)
            if meta and meta.label_column:
                opts.setdefault("label_column", meta.label_column)
    return load_dataset(data or config.data, task=config.task, **opts)
