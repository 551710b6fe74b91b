"""The statistics behind ``edgernn compare``: failed runs, paired seed differences, the verdict.

Why this is not mean ± std: on a real dataset one GRU seed never learned (8% accuracy), the GRU's
seed-to-seed standard deviation became ±45 points, and a "difference inside the spread is a tie"
rule recommended the GRU although the LSTM led by 31.6 points. So:

1. A run that failed (accuracy near chance, the training guard's ``did_not_learn`` flag in
   metrics.json, a NaN anywhere) is named in the report and kept out of every statistic.
2. Cells are compared seed by seed: the same seed trains every cell, so the per-seed differences
   remove what seeds share. Their *median* is the estimate (with three or more seeds a single
   outlier cannot move it across the others), and a bootstrap interval of that median says how
   sure it is.
3. A cell is "clearly" more accurate only with at least ``MIN_PAIRS`` paired seeds, an interval
   that excludes zero and a median of at least ``MIN_EFFECT_POINTS``; two cells "tie" when the
   interval lies inside ±``EQUIVALENCE_POINTS``. A clearly less accurate cell is never recommended;
   among tied cells the cheapest wins; otherwise the honest answer is "not enough evidence", with
   the number of seeds a normal approximation says would settle it.
"""
from __future__ import annotations

import math

import numpy as np

NEAR_CHANCE = 0.10        # failed: metric below chance + 10% of the way from chance to perfect
MIN_PAIRS = 3             # fewer paired seeds than this never make a "clear" verdict
MIN_EFFECT_POINTS = 0.5   # smaller median differences are not worth calling a winner
EQUIVALENCE_POINTS = 1.0  # an interval inside ±1 point is a tie
CONFIDENCE = 0.95
BOOTSTRAP_SAMPLES = 4000
MAX_SEEDS_NEEDED = 1000


def chance_level(task: str, y_test=None, num_classes: int | None = None) -> float:
    """What a model that learned nothing scores: ROC-AUC 0.5 for anomaly detection; for classifiers
    the larger of 1/classes and the share of the most frequent test class (always guessing it)."""
    if task == "anomaly":
        return 0.5
    level = 1.0 / num_classes if num_classes else 0.0
    if y_test is not None and len(y_test):
        level = max(level, float(np.bincount(np.asarray(y_test, dtype=np.int64)).max() / len(y_test)))
    return level


def _is_nan(v) -> bool:
    return isinstance(v, float) and math.isnan(v)


def failure_reasons(m: dict, chance: float) -> list[str]:
    """Why a run counts as failed (empty: it did not). ``m`` is one model record of the comparison."""
    reasons = []
    if m.get("train_error"):
        return [f"training failed: {m['train_error']}"]
    guard = m.get("guard") or {}
    if guard.get("did_not_learn"):
        reasons.append("training guard: did not learn" + (f" ({'; '.join(guard.get('reasons', []))})"
                                                          if guard.get("reasons") else ""))
    for key in ("float", "int8"):
        if _is_nan(m.get(key)):
            reasons.append(f"{key} {m.get('metric', 'metric')} is NaN")
    floor = chance + NEAR_CHANCE * (1.0 - chance)
    value = m.get("float")
    if value is not None and not _is_nan(value) and value < floor:
        reasons.append(f"float {m.get('metric', 'metric')} {100 * value:.1f}% is near chance "
                       f"({100 * chance:.1f}%; failed below {100 * floor:.1f}%)")
    return reasons


def succeeded(models: list[dict]) -> list[dict]:
    return [m for m in models if not m.get("failed")]


def metric_basis(models: list[dict], cells) -> str:
    """int8 accuracy (TFLite Micro) when every successful run of these cells has it, float otherwise."""
    ms = [m for m in succeeded(models) if m["arch"] in cells]
    return "int8" if ms and all(m.get("int8") is not None for m in ms) else "float"


def paired_differences(models: list[dict], a: str, b: str, key) -> tuple[list[int], list[float]]:
    """Seeds where both cells succeeded, and ``100 * (key(a) - key(b))`` at each (points)."""
    get = key if callable(key) else (lambda m: m.get(key))
    by = {arch: {m["seed"]: get(m) for m in succeeded(models) if m["arch"] == arch} for arch in (a, b)}
    seeds = sorted(s for s in set(by[a]) & set(by[b]) if by[a][s] is not None and by[b][s] is not None)
    return seeds, [100.0 * (by[a][s] - by[b][s]) for s in seeds]


def bootstrap_median_interval(d, confidence: float = CONFIDENCE, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of the median of ``d`` (seeded, so the report is reproducible)."""
    d = np.asarray(d, dtype=np.float64)
    if len(d) < 2:
        return float(d[0]), float(d[0])
    rng = np.random.default_rng(seed)
    medians = np.median(d[rng.integers(0, len(d), size=(BOOTSTRAP_SAMPLES, len(d)))], axis=1)
    tail = 100 * (1 - confidence) / 2
    return float(np.percentile(medians, tail)), float(np.percentile(medians, 100 - tail))


def seeds_needed(d, median: float) -> int:
    """Paired seeds for a 95% interval narrow enough to show the observed difference, or to show
    a tie, whichever comes first (normal approximation from the observed spread)."""
    n = len(d)
    if n < 2:
        return MIN_PAIRS
    spread = max(float(np.std(d, ddof=1)), 0.1)
    z = 1.959964
    gaps = [abs(median)] if abs(median) >= MIN_EFFECT_POINTS else []
    if abs(median) < EQUIVALENCE_POINTS:
        gaps.append(EQUIVALENCE_POINTS - abs(median))
    best = min(math.ceil((z * spread / g) ** 2) for g in gaps) if gaps else MAX_SEEDS_NEEDED
    return int(min(max(best, n + 1, MIN_PAIRS), MAX_SEEDS_NEEDED))


def compare_pair(d) -> dict:
    """Verdict on paired differences first - second (points): first, second, tie or unclear."""
    n = len(d)
    if n == 0:
        return {"n": 0, "median": None, "interval": None, "verdict": "unclear", "seeds_needed": MIN_PAIRS}
    med = float(np.median(d))
    lo, hi = bootstrap_median_interval(d)
    out = {"n": n, "median": med, "interval": [lo, hi], "differences": [float(v) for v in d]}
    if n >= MIN_PAIRS and (lo > 0 or hi < 0) and abs(med) >= MIN_EFFECT_POINTS:
        out["verdict"] = "first" if med > 0 else "second"
    elif n >= MIN_PAIRS and -EQUIVALENCE_POINTS <= lo and hi <= EQUIVALENCE_POINTS:
        out["verdict"] = "tie"
    else:
        out["verdict"] = "unclear"
        out["seeds_needed"] = seeds_needed(d, med)
    return out


def _median(s: dict | None):
    return s.get("median") if s else None


def cost_figures(summary: dict, cell: str) -> dict[str, float]:
    """Costs of a cell to rank by: int8 flash bytes and latency on every target (medians)."""
    s = summary.get(cell, {})
    out = {}
    if _median(s.get("int8_bytes")) is not None:
        out["int8 flash"] = _median(s["int8_bytes"])
    for key, st in (s.get("latency_ms") or {}).items():
        if _median(st) is not None:
            out[f"latency on {key}"] = _median(st)
    if not out and _median(s.get("params")) is not None:
        out["parameters"] = _median(s["params"])
    return out


def cheapest(summary: dict, cells: list[str]) -> str:
    """The cell whose costs are lowest on balance: the smallest sum over the cost figures every cell
    has of log(cost / the lowest cost), so 6% more flash does not outweigh 18x the latency
    (a rank count would call that a draw). Flash breaks exact ties."""
    figs = {c: cost_figures(summary, c) for c in cells}
    common = set.intersection(*(set(f) for f in figs.values())) if figs else set()
    if not common:
        return cells[0]
    lowest = {k: min(figs[c][k] for c in cells) for k in common}
    score = {c: sum(math.log(max(figs[c][k], 1e-12) / max(lowest[k], 1e-12)) for k in common) for c in cells}
    return min(cells, key=lambda c: (round(score[c], 9), figs[c].get("int8 flash", 0.0)))


def cost_text(summary: dict, cell: str, other: str) -> str:
    mine, theirs = cost_figures(summary, cell), cost_figures(summary, other)
    parts = [f"{100 * (mine[k] - theirs[k]) / theirs[k]:+.0f}% {k}" for k in mine if k in theirs and theirs[k]]
    return f"{cell.upper()} vs {other.upper()}: " + (", ".join(parts) if parts else "no common cost figures")


def _pair_text(a: str, b: str, p: dict, basis: str) -> str:
    if not p["n"]:
        return f"{a.upper()} vs {b.upper()}: no seed where both succeeded"
    lo, hi = p["interval"]
    return (f"{a.upper()} - {b.upper()} {basis} accuracy: median {p['median']:+.2f} pt over {p['n']} paired seed"
            f"{'s' if p['n'] != 1 else ''}, {100 * CONFIDENCE:.0f}% interval [{lo:+.2f}, {hi:+.2f}]")


def recommend(models: list[dict], summary: dict, cells: list[str]) -> dict:
    """The verdict across ``cells`` from per-seed paired differences of successful runs."""
    alive = [c for c in cells if any(m["arch"] == c for m in succeeded(models))]
    dead = [c for c in cells if c not in alive]
    note = f" Every run of {', '.join(c.upper() for c in dead)} failed." if dead else ""
    if len(alive) < 2:
        choice = alive[0] if alive else None
        text = (f"{choice.upper()}: the only cell with a successful run; nothing to compare." if choice
                else "No cell trained successfully; nothing to recommend.") + note
        return {"choice": choice, "kind": "single" if choice else "none", "text": text, "pairs": {}, "basis": None}
    basis = metric_basis(models, alive)
    pairs = {}
    for i, a in enumerate(alive):
        for b in alive[i + 1:]:
            _, d = paired_differences(models, a, b, basis)
            pairs[f"{a}-{b}"] = dict(compare_pair(d), first=a, second=b)
    beaten = {}
    for p in pairs.values():
        if p["verdict"] in ("first", "second"):
            winner, loser = (p["first"], p["second"]) if p["verdict"] == "first" else (p["second"], p["first"])
            beaten.setdefault(loser, []).append((winner, p))
    # Medians of paired differences need not be transitive; if every cell is beaten, none is excluded.
    contenders = [c for c in alive if c not in beaten] or list(alive)
    worse = " ".join(f"{c.upper()} is clearly less accurate ({_pair_text(w, c, _oriented(p, w, c), basis)})."
                     for c, ws in beaten.items() for w, p in ws[:1])
    inner = [p for p in pairs.values() if p["first"] in contenders and p["second"] in contenders]
    figures = {"basis": basis, "pairs": pairs, "contenders": contenders}
    if len(contenders) == 1:
        c = contenders[0]
        costs = "; ".join(cost_text(summary, c, o) for o in alive if o != c)
        text = f"{c.upper()}: clearly the most accurate. {worse} Costs: {costs}.{note}"
        return dict(figures, choice=c, kind="more accurate", text=text)
    if inner and all(p["verdict"] == "tie" for p in inner):
        c = cheapest(summary, contenders)
        ties = "; ".join(_pair_text(p["first"], p["second"], p, basis) for p in inner)
        costs = "; ".join(cost_text(summary, c, o) for o in contenders if o != c)
        text = (f"{c.upper()}: accuracy ties (interval within ±{EQUIVALENCE_POINTS:g} pt: {ties}) and it is the "
                f"cheapest ({costs}).{(' ' + worse) if worse else ''}{note}")
        return dict(figures, choice=c, kind="tie, cheapest", text=text)
    open_pairs = [p for p in inner if p["verdict"] == "unclear"] or inner
    need = max(p.get("seeds_needed", MIN_PAIRS) for p in open_pairs)
    detail = "; ".join(_pair_text(p["first"], p["second"], p, basis) for p in open_pairs)
    names = ", ".join(c.upper() for c in contenders[:-1]) + f" and {contenders[-1].upper()}"
    text = (f"Not enough evidence to choose between {names} ({detail}): about {need} successful seeds per cell "
            f"would settle it.{(' ' + worse) if worse else ''}{note}")
    return dict(figures, choice=None, kind="not enough evidence", seeds_needed=need, text=text)


def _oriented(p: dict, a: str, b: str) -> dict:
    """The pair record with its differences as a - b."""
    if p["first"] == a:
        return p
    return dict(p, median=-p["median"], interval=[-p["interval"][1], -p["interval"][0]], first=a, second=b)


def drop_claim(models: list[dict], sparsities: list[float]) -> dict:
    """Does this data support "GRUs take quantization and pruning better" (than LSTMs)?

    Paired per seed: LSTM drop - GRU drop (points) for int8 (float -> int8) and for magnitude
    pruning at the highest sparsity (int8 at 0 -> int8 at that sparsity). Supported only if the
    GRU's drop is clearly smaller on both; contradicted if the LSTM's is clearly smaller on either.
    """
    if not {"gru", "lstm"} <= {m["arch"] for m in succeeded(models)}:
        return {"verdict": "not tested", "text": "The claim needs both GRU and LSTM runs."}

    def int8_drop(m):
        return None if m.get("int8") is None else m["float"] - m["int8"]

    tests = {"int8 quantization": paired_differences(models, "lstm", "gru", int8_drop)[1]}
    if sparsities:
        top = sparsity_key(max(sparsities))

        def prune_drop(m):
            p = m.get("pruning") or {}
            return None if m.get("int8") is None or p.get(top) is None else m["int8"] - p[top]

        tests[f"{top}% magnitude pruning"] = paired_differences(models, "lstm", "gru", prune_drop)[1]
    verdicts = {k: compare_pair(d) for k, d in tests.items()}
    parts = [f"{k}: LSTM drop - GRU drop median {v['median']:+.2f} pt over {v['n']} seeds, interval "
             f"[{v['interval'][0]:+.2f}, {v['interval'][1]:+.2f}] ({_claim_word(v['verdict'])})"
             if v["n"] else f"{k}: no paired seeds" for k, v in verdicts.items()]
    if any(v["verdict"] == "second" for v in verdicts.values()):
        verdict, head = "contradicted", "This data contradicts \"GRUs take quantization and pruning better\""
    elif len(verdicts) == 2 and all(v["verdict"] == "first" for v in verdicts.values()):
        verdict, head = "supported", "This data supports \"GRUs take quantization and pruning better\""
    else:
        verdict, head = "not supported", ("This data does not support \"GRUs take quantization and pruning better\" "
                                          "(no clear difference on both)")
    return {"verdict": verdict, "tests": verdicts, "text": f"{head}: " + "; ".join(parts) + "."}


def _int8_drop(m: dict) -> float | None:
    return None if m.get("int8") is None else m["float"] - m["int8"]


def int8_drops(models: list[dict], cells) -> dict:
    """Which cell takes int8 better on this data: per cell, the float -> int8 drop of every seed (points)
    with the median and its bootstrap interval; per pair of cells, the paired per-seed difference of
    their drops (first's drop - second's drop: negative when the first cell loses less) with the same
    verdict rules as accuracy ("first" here means the first cell drops clearly MORE)."""
    per_cell = {}
    for c in cells:
        d = [100.0 * _int8_drop(m) for m in succeeded(models) if m["arch"] == c and _int8_drop(m) is not None]
        per_cell[c] = {"n": len(d), "drops": d, "median": float(np.median(d)) if d else None,
                       "interval": list(bootstrap_median_interval(d)) if d else None}
    pairs = {}
    for i, a in enumerate(cells):
        for b in cells[i + 1:]:
            seeds, d = paired_differences(models, a, b, _int8_drop)
            pairs[f"{a}-{b}"] = dict(compare_pair(d), first=a, second=b, seeds=seeds)
    return {"cells": per_cell, "pairs": pairs}


def int8_drop_word(pair: dict) -> str:
    """The verdict of an ``int8_drops`` pair in words."""
    a, b = pair["first"].upper(), pair["second"].upper()
    return {"first": f"{b} takes int8 clearly better", "second": f"{a} takes int8 clearly better",
            "tie": "equivalent", "unclear": f"within seed noise ({pair.get('seeds_needed')} seeds needed)"}[pair["verdict"]]


def _claim_word(verdict: str) -> str:
    return {"first": "GRU drops clearly less", "second": "LSTM drops clearly less", "tie": "equivalent",
            "unclear": "within seed noise"}[verdict]


def sparsity_key(s: float) -> str:
    return str(int(round(100 * s)))
