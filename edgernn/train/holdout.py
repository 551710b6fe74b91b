"""Keyword figures on a held-out synthesis engine: voices the model never heard.

keyword_accuracy: share of the engine's keyword clips classified as the right keyword;
false_fire_rate: share of its non-keyword clips (``_unknown_``) classified as any keyword.
"""
from __future__ import annotations

import numpy as np

SILENCE, UNKNOWN = 0, 1  # class indices every KWS dataset here uses


def holdout_metrics(y_true, probs, class_names, engine: str | None = None) -> dict:
    y = np.asarray(y_true, dtype=np.int64)
    pred = np.asarray(probs).argmax(axis=-1)
    is_kw, is_unknown = y > UNKNOWN, y == UNKNOWN
    fired = pred > UNKNOWN
    per_kw = {class_names[k]: float((pred[y == k] == k).mean()) for k in range(2, len(class_names)) if (y == k).any()}
    return {
        "engine": engine,
        "keyword_clips": int(is_kw.sum()),
        "keyword_accuracy": float((pred[is_kw] == y[is_kw]).mean()) if is_kw.any() else float("nan"),
        "unknown_clips": int(is_unknown.sum()),
        "false_fire_rate": float(fired[is_unknown].mean()) if is_unknown.any() else float("nan"),
        "per_keyword_accuracy": per_kw,
    }
