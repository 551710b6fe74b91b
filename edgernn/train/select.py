"""The small-data recipe's choices for ``train --task classify``, made on the validation split only.

- normalization (``--normalize auto``): per-series z-normalization or per-feature standardization,
  whichever gives the higher 1-NN Euclidean accuracy from the training rows to the validation rows
  (ties keep ``feature``, the behaviour before this existed); a set with a constant series keeps
  ``feature``. Cheap: no training.
- frame size (``--frame auto``) and augmentation strength (``--augment-strength auto``): candidate
  models are trained with the full recipe and the one with the best validation accuracy is kept
  (ties: lower validation loss, then the earlier candidate). Frames first, without augmentation;
  then the other strengths at the chosen frame. Short or wide series have one candidate: frame 1,
  no augmentation (so they train as before, at one run's cost).
- how candidates are scored (``--select val|cv|auto``): ``val`` trains each candidate once on the
  training split and scores it on the validation split. ``cv`` pools the training and validation
  rows, scores each candidate by its mean accuracy over a seeded stratified k-fold cross-validation
  (ties: lower mean loss), then trains the chosen candidate once more on all pooled rows (no split
  left to stop on): at least the folds' median kept optimizer steps, then until its training loss is
  down to the folds' median training loss at their kept epochs (``loss_target_callback``). ``auto``: ``cv`` when the
  pooled rows are few (at most CV_MAX_ROWS; a validation split of a few series is mostly noise
  there, and those series are worth training on), else ``val``.

Never the test split: it is read only after the choice, for the reported figures.
See docs/guides/long-series.md.
"""
from __future__ import annotations

import sys

import numpy as np

from edgernn.data.series_augment import AUTO_STRENGTHS, check_strength
from edgernn.errors import UserError
from edgernn.features.series import check_normalize, constant_series, znorm_series
from edgernn.models.frame import auto_candidates, check_frame, frame_note, is_long_narrow, parse_frame
from edgernn.train.baselines import euclidean_distances, one_nn_accuracy


def _standardized(X: np.ndarray, ref: np.ndarray) -> np.ndarray:
    flat = ref.reshape(-1, ref.shape[-1]).astype(np.float64)
    flat = flat[~np.isnan(flat).any(axis=1)]
    std = flat.std(axis=0)
    return (X - flat.mean(axis=0)) / np.where(std < 1e-8, 1.0, std)


def choose_normalize(normalize, ds) -> tuple[str, dict]:
    """(normalization, evidence) for the dataset ``ds``; explicit ``series`` refuses constant series."""
    normalize = check_normalize(normalize)
    splits = {name: s.X for name, s in ds.splits.items() if len(s)}
    if normalize == "series":
        for name, X in splits.items():
            znorm_series(X, f"the {name} split's ")  # the user error names the constant series
        return "series", {"given": True}
    if normalize != "auto":
        return normalize, {"given": True}
    constant = {name: len(constant_series(X)) for name, X in splits.items()}
    if any(constant.values()):
        return "feature", {"rule": "a series has a constant channel: per-series normalization cannot apply",
                           "constant_series": constant}
    train, val = ds.splits["train"], ds.splits.get("val")
    if val is None or not len(val):
        return "feature", {"rule": "no validation split to choose on"}
    acc = {"series": one_nn_accuracy(euclidean_distances(znorm_series(train.X), znorm_series(val.X)), train.y, val.y),
           "feature": one_nn_accuracy(euclidean_distances(_standardized(train.X, train.X),
                                                          _standardized(val.X, train.X)), train.y, val.y)}
    choice = "series" if acc["series"] > acc["feature"] else "feature"
    return choice, {"rule": "1-NN Euclidean accuracy, training rows -> validation rows", "val_1nn": acc}


def frame_candidates(frame, steps: int, features: int) -> list[int]:
    """The frame sizes to try: the one given (checked, padding noted on stderr), or ``auto``'s."""
    frame = parse_frame(frame)
    if frame == "auto":
        return auto_candidates(steps, features)
    check_frame(frame, steps)
    note = frame_note(steps, frame)
    if note:
        print(f"edgernn: note: {note}", file=sys.stderr)
    return [frame]


def strength_candidates(strength, steps: int, features: int) -> list[float]:
    """The augmentation strengths to try: the one given, or for ``auto`` 0 and 1 on long narrow series
    (the small-data recipe's case) and 0 elsewhere (short sets train as before, at one run's cost)."""
    strength = check_strength(strength)
    if strength != "auto":
        return [strength]
    return list(AUTO_STRENGTHS) if is_long_narrow(steps, features) else [0.0]


SELECTS = ("val", "cv", "auto")
CV_FOLDS = 5
CV_MAX_ROWS = 100  # training + validation rows up to which --select auto cross-validates
REFIT_MAX_FACTOR = 4  # --select cv: the final fit trains at most this many times the folds' median epochs


# The default scores on the validation split: cross-validation (cv, or auto's choice of it) is opt-in until
# it is measured on every bundled set; it trains 5 times per candidate, and on ArrowHead it did not move the
# test accuracy (docs/guides/long-series.md).
DEFAULT_SELECT = "val"


def check_select(value) -> str:
    if value is None:
        return DEFAULT_SELECT
    if value not in SELECTS:
        raise UserError(f"--select must be one of {', '.join(SELECTS)} (got {value!r})")
    return value


def fold_count(y: np.ndarray) -> int:
    """Folds for the pooled labels ``y``: CV_FOLDS, fewer when a class has fewer rows (0: too few to fold)."""
    counts = np.bincount(np.asarray(y, dtype=np.int64))
    smallest = int(counts[counts > 0].min()) if len(y) else 0
    return min(CV_FOLDS, smallest) if smallest >= 2 else 0


def choose_select(select, ds) -> tuple[str, dict]:
    """(``val`` or ``cv``, evidence) for the dataset ``ds`` (train.select's docstring)."""
    given, select = select is not None, check_select(select)
    pooled = np.concatenate([ds.splits[s].y for s in ("train", "val") if s in ds.splits])
    folds = fold_count(pooled)
    if select == "val":
        return "val", {"given": given}
    if select == "cv":
        if not folds:
            raise UserError("--select cv: a class has fewer than 2 training + validation rows; it cannot be "
                            "cross-validated (use --select val)")
        return "cv", {"given": True, "folds": folds, "rows": len(pooled)}
    if len(pooled) > CV_MAX_ROWS:
        return "val", {"rule": f"more than {CV_MAX_ROWS} training + validation rows: the validation split scores",
                       "rows": len(pooled)}
    if not folds:
        return "val", {"rule": "a class has fewer than 2 training + validation rows", "rows": len(pooled)}
    return "cv", {"rule": f"at most {CV_MAX_ROWS} training + validation rows: stratified {folds}-fold "
                          "cross-validation scores, then all rows train", "folds": folds, "rows": len(pooled)}


def cv_folds(y: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """Fold index of every row: each class's rows in a seeded order dealt round-robin over the folds
    (so every fold holds each class in proportion, and every class with >= ``folds`` rows in every fold)."""
    y = np.asarray(y, dtype=np.int64)
    out = np.zeros(len(y), dtype=np.int64)
    rng = np.random.default_rng([seed, 26])
    start = 0
    for k in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == k))
        out[idx] = (start + np.arange(len(idx))) % folds
        start += len(idx)  # the next class starts where this one stopped: fold sizes stay even
    return out


def kept_epochs(history: dict, min_epochs: int) -> int:
    """Epochs up to the weights early stopping kept: the lowest validation loss from ``min_epochs`` on."""
    loss = np.asarray(history.get("val_loss") or history["loss"], dtype=np.float64)
    loss = np.where(np.isfinite(loss), loss, np.inf)
    first = min(min_epochs, len(loss) - 1)
    return int(first + np.argmin(loss[first:]) + 1)


def refit_epochs(kept: list[int], fold_steps: int, all_steps: int) -> int:
    """Epochs for the final fit on all rows: the folds' median kept optimizer steps at its steps per epoch."""
    return max(1, int(round(float(np.median(kept)) * fold_steps / all_steps)))


def loss_target_callback(keras, at_least: int, target: float):
    """Stops training at the end of the first epoch from ``at_least`` on (1-based count) whose training
    loss is at most ``target``: the final fit on all rows trains as far as the folds did (Goodfellow,
    Bengio and Courville, Deep Learning, 7.8: retraining on all data until the training loss reaches its
    value at the early-stopping point), however many steps that takes."""

    class LossTarget(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            loss = (logs or {}).get("loss")
            if epoch + 1 >= at_least and loss is not None and loss <= target:
                self.model.stop_training = True

    return LossTarget()


def score(result: dict) -> tuple:
    """Higher is better: validation accuracy, then lower validation loss."""
    return (result["val_accuracy"], -result["val_loss"])


def check_options(task: str, frame, normalize, augment_strength, select=None) -> None:
    """These options belong to sequence classification; refuse them elsewhere before any data is read."""
    given = [name for name, v in (("--frame", frame), ("--normalize", normalize),
                                  ("--augment-strength", augment_strength), ("--select", select))
             if v not in (None, "auto")]
    if given and task != "classify":
        raise UserError(f"{given[0]} applies to --task classify only")
    parse_frame(frame)
    check_normalize(normalize)
    check_strength(augment_strength)
    check_select(select)
