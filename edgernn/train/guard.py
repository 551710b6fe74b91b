"""The "did not learn" guard: flags a run whose result says training failed, and says why.

Written to ``metrics.json["guard"] = {"did_not_learn": bool, "reasons": [str, ...]}``
(a classifier well below 1-NN Euclidean also gets ``"below_baseline": [str]``: a warning, not a
"did not learn" flag; the key is absent otherwise)
(``compare`` and sweeps read that key; a missing key means "not flagged"). It only reads
results after training; it never changes training.
"""
from __future__ import annotations

import math

import numpy as np

# A classifier is "near chance" when its accuracy is within this share of the distance between
# chance and perfect (at least 5 points) above chance; chance = always predicting the majority class.
NEAR_CHANCE_SHARE = 0.1
NEAR_CHANCE_MIN_POINTS = 0.05
ANOMALY_NEAR_CHANCE_AUC = 0.55
# "well below" the nearest neighbour: this many points under 1-NN Euclidean on the same split
BELOW_NN_POINTS = 0.10


def chance_accuracy(y: np.ndarray, num_classes: int) -> float:
    y = np.asarray(y, dtype=np.int64)
    return float(np.bincount(y, minlength=num_classes).max() / len(y)) if len(y) else 1.0 / num_classes


def near_chance(accuracy: float, chance: float) -> bool:
    return accuracy <= chance + max(NEAR_CHANCE_MIN_POINTS, NEAR_CHANCE_SHARE * (1 - chance))


def _history_reasons(history: dict, recipe: dict) -> list[str]:
    reasons = []
    loss = history.get("loss", [])
    if any(not math.isfinite(v) for v in loss):
        reasons.append("the training loss became NaN/inf (likely cause: learning rate too high for this data; "
                       "try a lower --lr or --clipnorm)")
        return reasons
    monitor = history.get("val_loss") or loss
    if len(monitor) > 1 and int(np.argmin(monitor)) == 0:
        reasons.append(f"the best validation loss was at epoch 1 of {len(monitor)} (likely cause: too few "
                       f"optimizer steps, {recipe.get('steps_per_epoch', '?')} per epoch at batch size "
                       f"{recipe.get('batch_size', '?')}, or a learning rate that is too high)")
    if len(loss) > 1 and loss[-1] >= 0.98 * loss[0]:
        reasons.append(f"the training loss did not fall ({loss[0]:.4g} -> {loss[-1]:.4g}; likely cause: too few "
                       "epochs or steps, a learning rate too low or too high, or inputs that carry no signal)")
    return reasons


def below_baseline(test_accuracy: float, baselines: dict | None) -> list[str]:
    """Warnings when the model falls well below 1-NN Euclidean on the same split (train.baselines)."""
    nn = (baselines or {}).get("nn_euclidean")
    if nn is None or test_accuracy >= nn - BELOW_NN_POINTS:
        return []
    return [f"test accuracy {test_accuracy:.1%} is well below 1-NN Euclidean ({nn:.1%}) on the same split "
            "(likely cause: too few training series for this model; try --frame auto, --normalize series, "
            "--augment-strength auto or fewer --units; docs/guides/long-series.md)"]


def classification_guard(history: dict, recipe: dict, y_val, val_accuracy: float | None,
                         y_test, test_accuracy: float, num_classes: int, baselines: dict | None = None) -> dict:
    reasons = _history_reasons(history, recipe)
    for split, y, acc in (("validation", y_val, val_accuracy), ("test", y_test, test_accuracy)):
        if acc is None or not len(y):
            continue
        chance = chance_accuracy(y, num_classes)
        if near_chance(acc, chance):
            reasons.append(f"{split} accuracy {acc:.1%} is near chance ({chance:.1%}, the majority class share; "
                           "likely cause: training stopped before the model learnt, too little data per class, "
                           "or sequences padded after the data)")
    below = below_baseline(test_accuracy, baselines)
    return {"did_not_learn": bool(reasons), "reasons": reasons, **({"below_baseline": below} if below else {})}


def anomaly_guard(history: dict, recipe: dict, roc_auc: float | None) -> dict:
    reasons = _history_reasons(history, recipe)
    if roc_auc is not None and math.isfinite(roc_auc) and roc_auc <= ANOMALY_NEAR_CHANCE_AUC:
        reasons.append(f"test ROC-AUC {roc_auc:.3f} is near chance (0.5; likely cause: windows too short for "
                       "the signal's period, or anomalies the model reproduces as well as normal data)")
    return {"did_not_learn": bool(reasons), "reasons": reasons}
