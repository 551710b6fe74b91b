"""Keyword figures on a held-out synthesis engine: voices the model never heard.

keyword_accuracy: share of the engine's keyword clips classified as the right keyword;
false_fire_rate: share of its non-keyword clips (``_unknown_``) classified as any keyword.
"""
from __future__ import annotations

import numpy as np

SILENCE, UNKNOWN = 0, 1  # class indices every KWS dataset here uses


def holdout_metrics(y_true, probs, class_names, engine: str | None = None, words=None, voices=None) -> dict:
    """``words``: the spoken word of every clip; splits the false fires into near misses of the
    core words (``synth_kws.NEAR_MISSES``: yet, now, cup, town, ...) and all other words.
    ``voices``: the voice of every clip; gives both figures per voice (``per_voice``), because an
    engine's voices are not equally new (festival's kal_diphone is flite's kal diphone database)."""
    y = np.asarray(y_true, dtype=np.int64)
    pred = np.asarray(probs).argmax(axis=-1)
    per_kw = {class_names[k]: float((pred[y == k] == k).mean()) for k in range(2, len(class_names)) if (y == k).any()}
    return {
        "engine": engine,
        **_keyword_and_false_fire(y, pred),
        "per_keyword_accuracy": per_kw,
        **_false_fires_by_group(y, pred > UNKNOWN, words),
        **_per_voice(y, pred, voices),
    }


def _keyword_and_false_fire(y, pred) -> dict:
    """The two headline figures (and their clip counts) over the clips given."""
    is_kw, is_unknown = y > UNKNOWN, y == UNKNOWN
    return {"keyword_clips": int(is_kw.sum()),
            "keyword_accuracy": float((pred[is_kw] == y[is_kw]).mean()) if is_kw.any() else float("nan"),
            "unknown_clips": int(is_unknown.sum()),
            "false_fire_rate": float((pred[is_unknown] > UNKNOWN).mean()) if is_unknown.any() else float("nan")}


MAX_VOICES = 12  # more voice names than this (espeak's accent x variant) are not worth a table


def _per_voice(y, pred, voices) -> dict:
    if voices is None or len(voices) != len(y) or len(set(voices)) > MAX_VOICES:
        return {}
    voices = np.asarray(voices)
    return {"per_voice": {str(v): _keyword_and_false_fire(y[voices == v], pred[voices == v])
                          for v in sorted(set(voices))}}


def _false_fires_by_group(y, fired, words) -> dict:
    if words is None or len(words) != len(y):
        return {}
    from edgernn.data.synth_kws import NEAR_MISSES

    near = np.array([w in NEAR_MISSES for w in words]) & (y == UNKNOWN)
    other = ~np.array([w in NEAR_MISSES for w in words]) & (y == UNKNOWN)
    rate = lambda m: float(fired[m].mean()) if m.any() else float("nan")  # noqa: E731
    return {"near_miss_clips": int(near.sum()), "false_fire_rate_near_misses": rate(near),
            "other_unknown_clips": int(other.sum()), "false_fire_rate_other_words": rate(other)}
