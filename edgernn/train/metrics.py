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
        "pr_auc": pr_auc(y, s),
        "threshold": float(threshold),
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "accuracy": float((flagged == y).mean()) if len(y) else 0.0,
        "confusion_matrix": confusion_matrix(y.astype(int), flagged.astype(int), 2).tolist(),
        "class_names": ["normal", "anomaly"],
    }


def anomaly_scores(output: np.ndarray, X: np.ndarray, kind: str) -> np.ndarray:
    """Per-window anomaly score from a model's output on standardized windows ``X``.

    predictor: output[t] predicts X[t+1]; score = mean squared prediction error.
    autoencoder: output reconstructs X; score = mean squared reconstruction error.
    """
    output = np.asarray(output, dtype=np.float64)
    X = np.asarray(X, dtype=np.float64)
    if kind == "predictor":
        err = output[:, :-1, :] - X[:, 1:, :]
    else:
        err = output - X
    return (err ** 2).mean(axis=(1, 2))


def main_metric(metrics: dict) -> tuple[str, float]:
    """The headline number of a metrics dict: accuracy, or ROC-AUC for anomaly."""
    if metrics.get("task") == "anomaly":
        return "roc_auc", metrics["roc_auc"]
    return "accuracy", metrics["accuracy"]


# --- real anomaly series: precision-recall, scores mapped onto the series, event-level scoring ---

# UCR anomaly archive / KDD Cup 2021 scoring: the top-scoring location counts as found if it lies
# within 100 samples of the labelled anomalous region.
UCR_TOLERANCE = 100
MIN_NORMALS_FOR_THRESHOLD = 100  # the 99th percentile of fewer normals is (nearly) their maximum


def pr_auc(y_true, scores) -> float:
    """Area under the precision-recall curve as average precision (step-wise, no interpolation)."""
    y = np.asarray(y_true).astype(bool)
    if not y.any():
        return float("nan")
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="mergesort")
    hits = y[order]
    precision = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    return float(precision[hits].sum() / hits.sum())


def step_errors(output: np.ndarray, X: np.ndarray, kind: str) -> np.ndarray:
    """Squared error of every step of every window [N, T] (channels averaged).

    predictor: step t is scored by the prediction made at t-1, so step 0 has none (NaN).
    """
    output = np.asarray(output, dtype=np.float64)
    X = np.asarray(X, dtype=np.float64)
    if kind == "predictor":
        err = np.full(X.shape[:2], np.nan)
        err[:, 1:] = ((output[:, :-1, :] - X[:, 1:, :]) ** 2).mean(axis=2)
        return err
    return ((output - X) ** 2).mean(axis=2)


def series_scores(step_err: np.ndarray, starts: np.ndarray, n: int) -> np.ndarray:
    """Per-sample score of a series of ``n`` samples: the mean error of that sample over every
    window covering it (NaN where no window reaches)."""
    T = step_err.shape[1]
    total, count = np.zeros(n), np.zeros(n)
    rows = (np.asarray(starts)[:, None] + np.arange(T)[None, :]).ravel()
    vals = step_err.ravel()
    ok = np.isfinite(vals) & (rows < n)
    np.add.at(total, rows[ok], vals[ok])
    np.add.at(count, rows[ok], 1)
    return np.divide(total, count, out=np.full(n, np.nan), where=count > 0)


def events(labels) -> list[tuple[int, int]]:
    """Runs of anomalous samples as (first, last) index pairs."""
    lab = np.concatenate([[0], np.asarray(labels).astype(np.int8) != 0, [0]]).astype(np.int8)
    d = np.diff(lab)
    return list(zip(np.flatnonzero(d == 1).tolist(), (np.flatnonzero(d == -1) - 1).tolist()))


def _regions(mask) -> list[tuple[int, int]]:
    return events(mask)


def _near(a: tuple[int, int], b: tuple[int, int], tol: int) -> bool:
    return a[0] <= b[1] + tol and b[0] <= a[1] + tol


def event_metrics(series_labels, sample_scores, window_scores, starts, window: int, threshold: float,
                  row0: int = 0, tolerance: int = UCR_TOLERANCE) -> dict:
    """Event-level results on one labelled series (rows reported in the source series' numbering).

    top1: is the highest per-sample score within ``tolerance`` samples of a labelled anomaly
    (UCR anomaly archive scoring)? Event recall: labelled anomalies that a flagged window region
    reaches (within the tolerance); event precision: flagged regions that reach a labelled anomaly.
    """
    labels = np.asarray(series_labels)
    ev = events(labels)
    scores = np.asarray(sample_scores, dtype=np.float64)
    out = {"tolerance": tolerance, "events": len(ev),
           "event_rows": [[row0 + a, row0 + b] for a, b in ev[:50]]}
    if np.isfinite(scores).any():
        top = int(np.nanargmax(scores))
        out["top1_row"] = row0 + top
        out["top1_hit"] = bool(any(_near((top, top), e, tolerance) for e in ev)) if ev else None
        # how often a location drawn at random would count as a hit: the tolerance can cover much of a short series
        near = np.zeros(len(labels), dtype=bool)
        for a, b in ev:
            near[max(0, a - tolerance):b + tolerance + 1] = True
        out["top1_chance"] = float(near[np.isfinite(scores)].mean())
    flagged = np.zeros(len(labels), dtype=bool)
    for s in np.asarray(starts)[np.asarray(window_scores) > threshold]:
        flagged[s:s + window] = True
    regions = _regions(flagged)
    out["flagged_regions"] = len(regions)
    out["event_recall"] = sum(any(_near(e, r, tolerance) for r in regions) for e in ev) / len(ev) if ev else None
    out["event_precision"] = (sum(any(_near(r, e, tolerance) for e in ev) for r in regions) / len(regions)
                              if regions else None)
    return out


def anomaly_notes(y_true, n_threshold_normals: int | None = None) -> list[str]:
    """Plain-language explanations for figures that cannot be measured on this test part."""
    y = np.asarray(y_true).astype(bool)
    notes = []
    if len(y) and not y.any():
        notes.append(f"the test part has no labelled anomalies ({len(y)} normal windows): ROC-AUC and PR-AUC "
                     "are undefined (nan); only the false-alarm rate can be measured. Move --train-end earlier "
                     "or test on a part that contains the anomalies")
    elif len(y) and y.all():
        notes.append(f"the test part has no normal windows ({len(y)} anomalous windows): ROC-AUC is undefined "
                     "(nan); use a shorter --window or a longer test part")
    if n_threshold_normals is not None and n_threshold_normals < MIN_NORMALS_FOR_THRESHOLD:
        notes.append(f"the threshold comes from only {n_threshold_normals} normal validation windows (fewer than "
                     f"{MIN_NORMALS_FOR_THRESHOLD}: its 99th percentile is about their maximum); use a smaller "
                     "--stride or a longer known-normal part")
    return notes


def series_report(output, X, kind: str, split, window_scores, threshold: float) -> dict:
    """Per-sample scores and event metrics of a test split that is one series (else {})."""
    if getattr(split, "series_labels", None) is None or split.starts is None:
        return {}
    step = step_errors(output, X, kind)  # eval --limit may score only the first windows
    scores = series_scores(step, split.starts[:len(step)], len(split.series_labels))
    ev = event_metrics(split.series_labels, scores, window_scores, split.starts[:len(step)], X.shape[1],
                       threshold, split.row0)
    return {"events": ev, "sample_scores": scores}
