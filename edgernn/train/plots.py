"""Training plots (matplotlib, Agg): learning curves, confusion matrix, anomaly scores."""
from __future__ import annotations

import io as _io
from pathlib import Path

import numpy as np


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_png(fig, path: Path) -> None:
    """Render a figure to PNG and write it atomically."""
    from edgernn.io import atomic_write_bytes

    buf = _io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    atomic_write_bytes(path, buf.getvalue())


def training_curve(history: dict, path: Path, title: str) -> None:
    plt = _pyplot()
    keys = [k for k in ("accuracy", "loss") if k in history]
    fig, axes = plt.subplots(1, len(keys), figsize=(5 * len(keys), 3.5), squeeze=False)
    for ax, key in zip(axes[0], keys):
        epochs = np.arange(1, len(history[key]) + 1)
        ax.plot(epochs, history[key], label="train")
        if f"val_{key}" in history:
            ax.plot(epochs, history[f"val_{key}"], label="validation")
        ax.set_xlabel("epoch")
        ax.set_ylabel(key)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    save_png(fig, path)
    plt.close(fig)


def confusion_matrix(cm, class_names, path: Path, title: str) -> None:
    plt = _pyplot()
    cm = np.asarray(cm)
    n = len(class_names)
    fig, ax = plt.subplots(figsize=(0.55 * n + 2.5, 0.55 * n + 2))
    ax.imshow(cm, cmap="Blues")
    ax.set_xticks(range(n), class_names, rotation=60, ha="right")
    ax.set_yticks(range(n), class_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(n):
        for j in range(n):
            if cm[i, j]:
                ax.text(j, i, int(cm[i, j]), ha="center", va="center", fontsize=7,
                        color="white" if cm[i, j] > cm.max() / 2 else "black")
    ax.set_title(title)
    save_png(fig, path)
    plt.close(fig)


def anomaly_scores(y_true, scores, threshold: float, fpr, tpr, auc: float, path: Path, title: str) -> None:
    plt = _pyplot()
    y = np.asarray(y_true).astype(bool)
    s = np.asarray(scores)
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.5))
    lo, hi = max(float(s.min()), 1e-12), float(s.max())
    log_scale = hi > 2 * lo  # a log axis over a degenerate range sends matplotlib's tick maths into a loop
    bins = np.logspace(np.log10(lo), np.log10(hi), 50) if log_scale else 50
    a.hist(s[~y], bins=bins, alpha=0.6, label="normal")
    a.hist(s[y], bins=bins, alpha=0.6, label="anomaly")
    a.axvline(threshold, color="k", ls="--", label="threshold")
    if log_scale:
        a.set_xscale("log")
    a.set_xlabel("anomaly score (mean squared error)")
    a.legend()
    b.plot(fpr, tpr)
    b.plot([0, 1], [0, 1], color="grey", ls=":")
    b.set_xlabel("false positive rate")
    b.set_ylabel("true positive rate")
    b.set_title(f"ROC, AUC = {auc:.3f}")
    fig.suptitle(title)
    save_png(fig, path)
    plt.close(fig)
