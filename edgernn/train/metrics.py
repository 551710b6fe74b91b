"""Metrics in plain NumPy, shared by training and ``eval`` so numbers are computed one way.

All functions return JSON-ready dicts with the keys metrics.json uses.
"""
from __future__ import annotations

import numpy as np


def confusion_matrix(y_true, y_pred, num_classes: int) -> np.ndarray:
    """Rows: true class, columns: predicted class."""
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(cm, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return cm


def classification_metrics(y_true, probs, class_names) -> dict:
    """Accuracy, per-class precision/recall and the confusion matrix from class scores."""
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = np.asarray(probs).argmax(axis=-1)
    cm = confusion_matrix(y_true, y_pred, len(class_names))
    tp = np.diag(cm).astype(float)
    predicted, actual = cm.sum(axis=0), cm.sum(axis=1)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, actual, out=np.zeros_like(tp), where=actual > 0)
    return {
        "task": "classification",
        "samples": int(len(y_true)),
        "accuracy": float((y_pred == y_true).mean()) if len(y_true) else 0.0,
        "per_class": {name: {"precision": float(p), "recall": float(r), "support": int(s)}
                      for name, p, r, s in zip(class_names, precision, recall, actual)},
        "confusion_matrix": cm.tolist(),
        "class_names": list(class_names),
    }


def roc_auc(y_true, scores) -> float:
    """Area under the ROC curve by ranks (Mann-Whitney U); tied scores share their mean rank."""
    y = np.asarray(y_true).astype(bool)
    s = np.asarray(scores, dtype=np.float64)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s), dtype=np.float64)
    sorted_s = s[order]
    i = 0
    while i < len(s):  # average ranks over runs of equal scores
        j = i
        while j + 1 < len(s) and sorted_s[j + 1] == sorted_s[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def roc_curve(y_true, scores) -> tuple[np.ndarray, np.ndarray]:
    """False- and true-positive rates over all thresholds (for the ROC plot)."""
    y = np.asarray(y_true).astype(bool)
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="mergesort")
    tps = np.concatenate([[0], np.cumsum(y[order])])
    fps = np.concatenate([[0], np.cumsum(~y[order])])
    return fps / max(1, (~y).sum()), tps / max(1, y.sum())


THRESHOLD_PERCENTILE = 99.0


def choose_threshold(normal_scores, percentile: float = THRESHOLD_PERCENTILE) -> float:
    """Scores above the given percentile of validation normals are called anomalous.

    With only normal data to tune on, this fixes the expected false-alarm rate (1% at 99).
    """
    return float(np.percentile(np.asarray(normal_scores, dtype=np.float64), percentile))


def anomaly_metrics(y_true, scores, threshold: float) -> dict:
    y = np.asarray(y_true).astype(bool)
    s = np.asarray(scores, dtype=np.float64)
    flagged = s > threshold
    tp, fp, fn = int((flagged & y).sum()), int((flagged & ~y).sum()), int((~flagged & y).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "task": "anomaly",
        "samples": int(len(y)),
        "roc_auc": roc_auc(y, s),
        "threshold": float(threshold),
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "accuracy": float((flagged == y).mean()) if len(y) else 0.0,
        "confusion_matrix": confusion_matrix(y.astype(int), flagged.astype(int), 2).tolist(),
        "class_names": ["normal", "anomaly"],
    }


def anomaly_scores(output: np.ndarray, X: np.ndarray, config: dict) -> np.ndarray:
    """Per-window anomaly score from a model's output on standardized windows ``X``.

    predictor: output[t] predicts X[t+1]; score = mean squared prediction error.
    autoencoder: output reconstructs X; score = mean squared reconstruction error.
    """
    output = np.asarray(output, dtype=np.float64)
    X = np.asarray(X, dtype=np.float64)
    if config.get("anomaly_model", "predictor") == "predictor":
        err = output[:, :-1, :] - X[:, 1:, :]
    else:
        err = output - X
    return (err ** 2).mean(axis=(1, 2))


def main_metric(metrics: dict) -> tuple[str, float]:
    """The headline number of a metrics dict: accuracy, or ROC-AUC for anomaly."""
    if metrics.get("task") == "anomaly":
        return "roc_auc", metrics["roc_auc"]
    return "accuracy", metrics["accuracy"]
