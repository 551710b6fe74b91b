"""``edgernn compare``: GRU, LSTM or vanilla RNN for this data and these targets? Measured, not anecdotal.

1. Budget matching: the first of ``--cells`` keeps ``--units``; every other cell gets the unit count
   whose parameters, int8 weight bytes or MACs per inference (``--budget``) come closest to it.
2. Every cell is trained with the same seeds, quantized to int8, checked on TFLite Micro and
   benchmarked on every target; failed runs are named and left out (``compare_stats``); figures
   are mean ± std and median over the successful seeds.
3. Pruning sensitivity: int8 accuracy on TFLite Micro after magnitude pruning to each of
   ``--prune-sparsities``, per cell and seed.
4. A sequence-length study on a task whose answer is only in its first steps (a class cue, then
   noise to the end) shows where each cell's memory gives out.
5. The recommendation at the top is computed from paired per-seed differences (``compare_stats``),
   with the figures it rests on.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from edgernn import defaults as D
from edgernn import io
from edgernn.errors import UserError
from edgernn.models import ARCHS, count_macs, count_params, recurrent_dims
from edgernn.studies import compare_stats as S
from edgernn.studies.pipeline import Design, Settings, run_pipeline
from edgernn.records import Architecture, read_config, read_metrics

BUDGETS = ("params", "size", "macs")
COLORS = {"gru": "tab:blue", "lstm": "tab:orange", "rnn": "tab:green"}


# Cells are compared at one parameter budget on the data's own length (and the sequence-length studies
# are about that length): frame stacking, per-series normalization and augmentation chosen per run
# (docs/guides/long-series.md) would change both, so comparisons train as before them.
AS_BEFORE_SERIES_RECIPE = {"frame": 1, "normalize": "feature", "augment_strength": 0.0}


def parse_cells(spec: str) -> list[str]:
    """"gru,lstm,rnn" -> ["gru", "lstm", "rnn"]; at least one, no repeats, known cells only."""
    cells = [c.strip().lower() for c in (spec or "").split(",") if c.strip()]
    unknown = [c for c in cells if c not in ARCHS]
    if unknown:
        raise UserError(f"unknown cell(s) {', '.join(unknown)} in --cells (choose from {', '.join(ARCHS)})")
    if not cells or len(set(cells)) != len(cells):
        raise UserError(f"--cells must name each cell once, comma-separated (got {spec!r})")
    return cells


def parse_sparsities(spec: str | None) -> list[float]:
    """"0.5,0.75,0.9" -> [0.5, 0.75, 0.9] (each strictly between 0 and 1); empty: no pruning study."""
    try:
        values = [float(v) for v in (spec or "").split(",") if v.strip()]
    except ValueError:
        values = [-1.0]
    if any(not 0.0 < v < 1.0 for v in values) or len(set(values)) != len(values):
        raise UserError(f"--prune-sparsities must be distinct fractions between 0 and 1, comma-separated (got {spec!r})")
    return sorted(values)


def int8_weight_bytes(config: Architecture) -> int:
    """int8 storage of the weights with int32 biases (what an int8 model's constants take)."""
    from edgernn.models import cell, head_dims

    bias_values = sum(cell(config.arch).biases(u) for _, u in recurrent_dims(config))
    _, h_out = head_dims(config)
    bias_values += h_out
    total_params = count_params(config)
    return (total_params - bias_values) + 4 * bias_values


BUDGET_FN = {"params": count_params, "size": int8_weight_bytes, "macs": count_macs}


def match_units(base: Architecture, budget: str, ref_arch: str, ref_units: int, other_arch: str
                ) -> tuple[int, float]:
    """The other cell's unit count closest to the reference's budget; (units, relative difference).

    ``base`` gives the task, layers, input shape and classes; its arch and units are replaced."""
    if budget not in BUDGETS:
        raise UserError(f"unknown budget {budget!r} (choose from {', '.join(BUDGETS)})")
    fn = BUDGET_FN[budget]

    def cost(arch: str, units: int):
        return fn(base.model_copy(update={"arch": arch, "units": units}))

    target = cost(ref_arch, ref_units)
    best = min(range(1, 1025), key=lambda u: abs(cost(other_arch, u) - target))
    return best, (cost(other_arch, best) - target) / target


def parse_targets(spec: str) -> list[tuple[str, str | None]]:
    """"cpu,mcu:mps2-an386" -> [("cpu", None), ("mcu", "mps2-an386")]."""
    from edgernn.targets.boards import get_board

    out = []
    for item in filter(None, (s.strip() for s in spec.split(","))):
        kind, _, arg = item.partition(":")
        if kind == "cpu" and not arg:
            out.append(("cpu", None))
        elif kind == "mcu":
            out.append(("mcu", get_board(arg or "mps2-an386").name))
        else:
            raise UserError(f"unknown target {item!r} (use cpu or mcu:BOARD; rpi is measured with `edgernn bench`)")
    if not out:
        raise UserError("--targets is empty")
    return out


CUE_STEPS = 3
NOISE_STD = 0.5  # distractors after the cue; at std 1 even 50 steps defeated 32-unit cells


def long_dependency_data(path: Path, steps: int, n: int = 4000, classes: int = 4, features: int = 4,
                         seed: int = 0) -> Path:
    """Sequence classification whose answer is only at the start: a class cue in the first
    CUE_STEPS steps (feature ``class`` set to 3, the others 0), then pure noise to the end."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    X = rng.normal(0, NOISE_STD, (n, steps, features)).astype(np.float32)
    cue = min(CUE_STEPS, steps - 1)
    X[:, :cue, :] = 0
    X[np.arange(n), :cue, y % features] = 3.0 * np.where(y < features, 1, -1)[:, None]
    split = np.array(["train"] * int(n * 0.7) + ["val"] * int(n * 0.15) + ["test"] * (n - int(n * 0.7) - int(n * 0.15)))
    io.atomic_write_bytes(path, _npz_bytes(X=X, y=y, split=split))
    return path


def _npz_bytes(**arrays) -> bytes:
    import io as _io

    buf = _io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _one_model(arch: str, units: int, seed: int, data, task: str, out: Path, epochs: int | None,
               targets, progress: bool, sparsities=(), prune_epochs: int = 10) -> dict:
    """One cell and seed through the study pipeline, as a model record of the comparison."""
    recipe = tuple(AS_BEFORE_SERIES_RECIPE.items()) if task == "classify" else ()
    settings = Settings(task=task, data=data, seed=seed, epochs=epochs, targets=tuple(targets), cpu_runs=100,
                        cpu_warmup=10, mcu_vectors=2, mcu_test_inputs=False, overwrite=True, progress=progress,
                        train_options=recipe)
    o = run_pipeline(Design(arch=arch, units=units), settings, out)
    name = "roc_auc" if task == "anomaly" else "accuracy"
    r = {"arch": arch, "units": units, "seed": seed, "metric": name, "targets": {}, "history": {}}
    if o.run is None:  # training failed (e.g. a loss that became NaN): a failed run, not a failed comparison
        return dict(r, train_error=o.error)
    config = o.config
    r.update(run=str(o.run), float=getattr(o.metrics, name), guard=o.metrics.guard, params=config.params,
             macs=config.macs, train_seconds=config.train_seconds, float32_bytes=config.float32_bytes,
             epochs=config.epochs_run, history=io.read_json(o.run / "history.json"))
    if o.failed_stage:
        r["int8_error"] = o.error
        return r
    r["int8"] = o.quantized_value
    r.update(int8_bytes=o.model.stat().st_size, arena_bytes=o.arena_bytes)
    for key, t in o.targets.items():
        r["targets"][key] = {"error": t.error} if t.error else _target_figures(t.row)
    if sparsities:
        r["pruning"], r["pruning_errors"] = _pruning_sensitivity(o.run, r["int8"], sparsities, prune_epochs, name)
    return r


def _target_figures(row: dict) -> dict:
    """What the comparison keeps of a bench row: p50 latency on a CPU; on an MCU the firmware's figures."""
    m = row.get("mcu")
    if m is None:
        return {"latency_ms": row["latency_ms"]["p50"], "basis": "measured p50, LiteRT, 1 thread"}
    return {"latency_ms": m["estimated_latency_ms"], "flash_bytes": m["flash_bytes"], "ram_bytes": m["ram_bytes"],
            "instructions_per_mac": m["instructions_per_mac"], "bit_exact_vs_tflm": True, "basis": m["estimate"]}


def _pruning_sensitivity(run: Path, int8_metric: float, sparsities, epochs: int, name: str) -> tuple[dict, dict]:
    """int8 metric on TFLite Micro after magnitude pruning to each sparsity (key: percent; "0": unpruned)."""
    from edgernn.bench.evaluate import evaluate
    from edgernn.optimize.prune import prune
    from edgernn.optimize.quantize import quantize

    out, errors = {"0": int8_metric}, {}
    for s in sparsities:
        key = S.sparsity_key(s)
        try:
            pruned = prune(run, sparsity=s, epochs=epochs, out=run.with_name(f"{run.name}-pruned{key}"),
                           overwrite=True)
            out[key] = evaluate(quantize(pruned, mode="int8"), runtime="tflm", progress=False)[name]
        except UserError as e:
            errors[key] = str(e)
    return out, errors


def mark_failures(models: list[dict], chance: float) -> None:
    """Set ``failed`` (reasons) on every run that did not learn; they stay in the report, out of the statistics."""
    for m in models:
        reasons = S.failure_reasons(m, chance)
        m["failed"] = reasons or None


def _stats(values) -> dict | None:
    v = [x for x in values if x is not None]
    if not v:
        return None
    return {"mean": float(np.mean(v)), "std": float(np.std(v, ddof=1)) if len(v) > 1 else 0.0,
            "median": float(np.median(v)), "n": len(v)}


def summarize(models: list[dict], targets, cells=("gru", "lstm")) -> dict:
    """Per cell, over its successful runs only: mean, std, median and count of every figure."""
    out = {}
    for arch in cells:
        every = [m for m in models if m["arch"] == arch]
        ms = S.succeeded(every)
        if not every:
            continue
        if not ms:
            out[arch] = {"units": every[0]["units"], "failed": len(every), "latency_ms": {}}
            continue
        s = {k: _stats([m.get(k) for m in ms]) for k in ("float", "int8", "params", "macs", "float32_bytes", "int8_bytes",
                                                          "arena_bytes", "train_seconds", "epochs")}
        s["int8_drop_points"] = _stats([100 * (m["float"] - m["int8"]) for m in ms if "int8" in m])
        s["units"], s["failed"] = ms[0]["units"], len(every) - len(ms)
        s["pruning"] = {k: _stats([(m.get("pruning") or {}).get(k) for m in ms])
                        for k in sorted({k for m in ms for k in (m.get("pruning") or {})}, key=int)}
        s["latency_ms"] = {}
        for kind, board in targets:
            key = kind if board is None else f"mcu:{board}"
            s["latency_ms"][key] = _stats([m["targets"].get(key, {}).get("latency_ms") for m in ms])
        out[arch] = s
    return out


def compare(data, task: str = D.STUDY_TASK, budget: str = D.COMPARE_BUDGET, units: int = D.COMPARE_UNITS,
            seeds: int = D.COMPARE_SEEDS,
            targets: str = D.COMPARE_TARGETS, seq_lens: str | None = D.COMPARE_SEQ_LENS, out=D.COMPARE_OUT,
            epochs: int | None = None,
            seq_epochs: int = D.COMPARE_SEQ_EPOCHS, seq_samples: int = D.COMPARE_SEQ_SAMPLES,
            user_seq_lens: str | None = None, overwrite: bool = False,
            progress: bool = True, cells: str = D.COMPARE_CELLS,
            prune_sparsities: str | None = D.COMPARE_PRUNE_SPARSITIES,
            prune_epochs: int = D.COMPARE_PRUNE_EPOCHS) -> Path:
    """Train, convert and benchmark ``cells`` with matched budgets; write DIR/report.md and comparison.json."""
    from edgernn.data import TASKS

    if task not in TASKS:
        raise UserError(f"unknown task {task!r} (choose from {', '.join(TASKS)})")
    if not 1 <= seeds <= 100:
        raise UserError("--seeds must be 1..100")
    if prune_epochs < 1:
        raise UserError("--prune-epochs must be at least 1")
    names = parse_cells(cells)
    tgts = parse_targets(targets)
    sparsities = parse_sparsities(prune_sparsities)
    lens = _lengths(seq_lens, "--seq-lens")
    user_lens = _lengths(user_seq_lens, "--user-seq-lens")
    if user_lens and task == "anomaly":
        raise UserError("--user-seq-lens resamples classification data; anomaly windows are set by the loader")
    out = io.check_out(out, "folder", overwrite=overwrite, replace=True, inputs=[data])
    from edgernn.data import load_dataset

    ds = load_dataset(data, task=task)
    base = Architecture(task=task, arch=names[0], units=units, layers=1,
                        input_shape=[int(d) for d in ds.input_shape], class_names=list(ds.class_names))
    match = {names[0]: (units, 0.0), **{c: match_units(base, budget, names[0], units, c) for c in names[1:]}}
    test_y = ds.splits["test"].y if task != "anomaly" else None
    chance = S.chance_level(task, test_y, len(ds.class_names) if task != "anomaly" else None)
    start = time.perf_counter()
    out = Path(out)
    with io.atomic_dir(out, overwrite=overwrite) as tmp:
        models = [_one_model(c, match[c][0], seed, data, task, tmp / "runs" / f"{c}{match[c][0]}-seed{seed}", epochs,
                             tgts, progress, sparsities, prune_epochs)
                  for seed in range(seeds) for c in names]
        mark_failures(models, chance)
        seq_units = seq_study_units(names, budget)
        seq = [dict(_seq_point(tmp, n, c, seq_epochs, seq_samples, progress, seq_units[c]), steps=n)
               for n in lens for c in names]
        user_seq = [_user_seq_point(tmp, ds, n, c, match[c][0], epochs, progress) for n in user_lens for c in names]
        summary = summarize(models, tgts, names)
        result = {"data": str(data), "task": task, "budget": budget, "cells": names, "chance": chance,
                  "budget_match": {"reference": names[0], "units": {c: u for c, (u, _) in match.items()},
                                   "relative_difference": {c: d for c, (_, d) in match.items()}},
                  "seeds": seeds, "targets": [t if b is None else f"{t}:{b}" for t, b in tgts],
                  "recommendation": S.recommend(models, summary, names), "summary": summary,
                  "failed_runs": [{"arch": m["arch"], "seed": m["seed"], "reasons": m["failed"]}
                                  for m in models if m.get("failed")],
                  "prune_sparsities": sparsities, "prune_epochs": prune_epochs,
                  "quantization_pruning_claim": S.drop_claim(models, sparsities),
                  "int8_drops": S.int8_drops(models, names),
                  "models": [{k: v for k, v in m.items() if k != "history"} for m in models], "seq_len_study": seq,
                  "user_data_seq_len_study": user_seq, "user_data_steps": ds.input_shape[0],
                  "seconds": round(time.perf_counter() - start, 1)}
        io.write_json(tmp / "comparison.json", result)
        _plots(tmp, models, summary, seq, tgts, names, sparsities)
        io.atomic_write_text(tmp / "report.md", _markdown(result))
    return out


def rewrite_report(folder) -> Path:
    """Recompute the verdict, the quantization/pruning claim and report.md from DIR/comparison.json
    (nothing is re-measured; the plots stay): for comparisons made before a change to the statistics."""
    folder = Path(folder)
    r = io.read_json(folder / "comparison.json")
    r["recommendation"] = S.recommend(r["models"], r["summary"], r["cells"])
    r["quantization_pruning_claim"] = S.drop_claim(r["models"], r.get("prune_sparsities", []))
    r["int8_drops"] = S.int8_drops(r["models"], r["cells"])
    io.write_json(folder / "comparison.json", r)
    io.atomic_write_text(folder / "report.md", _markdown(r))
    return folder


def resample_time(X: np.ndarray, steps: int) -> np.ndarray:
    """[N, T, F] -> [N, steps, F] by linear interpolation along time."""
    src = np.linspace(0.0, 1.0, X.shape[1])
    dst = np.linspace(0.0, 1.0, steps)
    idx = np.clip(np.searchsorted(src, dst, side="right") - 1, 0, X.shape[1] - 2)
    w = ((dst - src[idx]) / (src[idx + 1] - src[idx]))[None, :, None]
    return (X[:, idx, :] * (1 - w) + X[:, idx + 1, :] * w).astype(np.float32)


def user_data_at(ds, steps: int, path: Path) -> Path:
    """The user's classification data resampled in time to ``steps``, as an npz with its splits."""
    parts = [(name, ds.splits[name]) for name in ("train", "val", "test") if len(ds.splits.get(name, []))]
    X = np.concatenate([resample_time(sp.X, steps) for _, sp in parts])
    y = np.concatenate([sp.y for _, sp in parts])
    split = np.concatenate([[name] * len(sp) for name, sp in parts])
    io.atomic_write_bytes(path, _npz_bytes(X=X, y=y, split=split, class_names=np.array(ds.class_names)))
    return path


def _user_seq_point(folder: Path, ds, steps: int, arch: str, units: int, epochs: int | None, progress: bool) -> dict:
    from edgernn.train.loop import train

    data = user_data_at(ds, steps, folder / "user_seqlen" / f"data_{steps}.npz")
    kwargs = {"epochs": epochs} if epochs else {}
    run = train(task="classify", arch=arch, units=units, data=data, out=folder / "user_seqlen" / f"{arch}-{steps}",
                overwrite=True, progress=progress, **kwargs, **AS_BEFORE_SERIES_RECIPE)
    m, c = read_metrics(run / "metrics.json"), read_config(run / "config.json")
    return {"arch": arch, "steps": steps, "accuracy": m.accuracy, "train_seconds": c.train_seconds}


def _lengths(spec: str | None, option: str) -> list[int]:
    try:
        lens = [int(v) for v in spec.split(",") if v.strip()] if spec else []
    except ValueError:
        lens = [0]
    if any(n < 2 for n in lens):
        raise UserError(f"{option} must be comma-separated integers >= 2 (got {spec!r})")
    return lens


SEQ_UNITS = 32  # the first cell's units in the sequence-length study; the others are budget-matched


def seq_study_units(cells: list[str], budget: str) -> dict[str, int]:
    """Units per cell for the long-dependency task, matched on ``budget`` like the main comparison."""
    base = Architecture(task="classify", arch=cells[0], units=SEQ_UNITS, layers=1, input_shape=[50, 4],
                        class_names=[str(k) for k in range(4)])
    return {c: SEQ_UNITS if i == 0 else match_units(base, budget, cells[0], SEQ_UNITS, c)[0]
            for i, c in enumerate(cells)}


def _seq_point(folder: Path, steps: int, arch: str, epochs: int, samples: int, progress: bool,
               units: int = SEQ_UNITS) -> dict:
    from edgernn.train.loop import train

    data = long_dependency_data(folder / "seqlen" / f"first_step_{steps}.npz", steps, n=samples)
    # No early stopping: long-dependency tasks sit on a loss plateau before they are learned.
    run = train(task="classify", arch=arch, units=units, data=data, out=folder / "seqlen" / f"{arch}-{steps}",
                epochs=epochs, patience=epochs, overwrite=True, progress=progress, **AS_BEFORE_SERIES_RECIPE)
    m, c = read_metrics(run / "metrics.json"), read_config(run / "config.json")
    return {"arch": arch, "units": units, "accuracy": m.accuracy, "train_seconds": c.train_seconds,
            "chance": 0.25}


def _plots(folder: Path, models, summary, seq, targets, cells=("gru", "lstm"), sparsities=()) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from edgernn.train.plots import save_png

    ok = S.succeeded(models)
    keys = [k if b is None else f"mcu:{b}" for k, b in targets]
    fig, axes = plt.subplots(1, len(keys) + 1, figsize=(5 * (len(keys) + 1), 4), squeeze=False)
    for ax, key in zip(axes[0], keys):
        for m in ok:
            t = m["targets"].get(key, {})
            if "latency_ms" in t and "int8" in m:
                ax.scatter(t["latency_ms"], 100 * m["int8"], color=COLORS[m["arch"]], label=m["arch"].upper())
        ax.ticklabel_format(axis="x", useOffset=False)
        ax.set_xlabel(f"latency ms on {key}" + (" (estimate)" if key.startswith("mcu") else " (p50)"))
        ax.set_ylabel("int8 test accuracy, %")
        ax.set_title(f"accuracy vs latency: {key}")
    ax = axes[0][-1]
    for m in ok:
        if "int8_bytes" in m:
            ax.scatter(m["int8_bytes"] / 1024, 100 * m["int8"], color=COLORS[m["arch"]], label=m["arch"].upper())
    ax.set_xlabel("int8 model (flash) KB")
    ax.set_title("accuracy vs flash (successful runs)")
    for a in axes[0]:
        _legend(a)
        a.grid(alpha=0.3)
    save_png(fig, folder / "accuracy_tradeoffs.png")
    fig, ax = plt.subplots(figsize=(7, 4))
    for m in models:
        h = m["history"]
        if "val_accuracy" in h:
            ax.plot(np.arange(1, len(h["val_accuracy"]) + 1), h["val_accuracy"], color=COLORS[m["arch"]], alpha=0.7,
                    ls=":" if m.get("failed") else "-", label=m["arch"].upper() + (" (failed)" if m.get("failed") else ""))
    _legend(ax)
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation accuracy")
    ax.set_title("training curves, every seed (failed runs dotted)")
    ax.grid(alpha=0.3)
    save_png(fig, folder / "training_curves.png")
    if sparsities:
        _pruning_plot(folder, ok, summary, cells, sparsities)
    if seq:
        fig, ax = plt.subplots(figsize=(6, 4))
        for arch in cells:
            pts = sorted((p["steps"], p["accuracy"]) for p in seq if p["arch"] == arch)
            ax.plot([p[0] for p in pts], [100 * p[1] for p in pts], "o-", color=COLORS[arch], label=arch.upper())
        ax.axhline(25, color="grey", ls=":", label="chance")
        ax.set_xscale("log")
        ax.set_xlabel("sequence length (steps between the cue and the answer)")
        ax.set_ylabel("test accuracy, %")
        ax.set_title("long-dependency task")
        ax.legend()
        ax.grid(alpha=0.3)
        save_png(fig, folder / "seq_len.png")


def _pruning_plot(folder: Path, ok, summary, cells, sparsities) -> None:
    """int8 accuracy vs sparsity: every successful seed as a dot, the median as a line."""
    import matplotlib.pyplot as plt

    from edgernn.train.plots import save_png

    fig, ax = plt.subplots(figsize=(6, 4))
    for arch in cells:
        for m in (m for m in ok if m["arch"] == arch and m.get("pruning")):
            xs = sorted(int(k) for k in m["pruning"])
            ax.scatter(xs, [100 * m["pruning"][str(x)] for x in xs], color=COLORS[arch], alpha=0.35, s=14)
        med = summary.get(arch, {}).get("pruning") or {}
        xs = sorted(int(k) for k in med if med[k])
        if xs:
            ax.plot(xs, [100 * med[str(x)]["median"] for x in xs], "o-", color=COLORS[arch], label=f"{arch.upper()} median")
    ax.set_xlabel("magnitude-pruning sparsity, %")
    ax.set_ylabel("int8 test accuracy on TFLite Micro, %")
    ax.set_title("pruning sensitivity (int8)")
    _legend(ax)
    ax.grid(alpha=0.3)
    save_png(fig, folder / "pruning_sensitivity.png")


def _legend(ax) -> None:
    handles, labels = ax.get_legend_handles_labels()
    uniq = dict(zip(labels, handles))
    if uniq:
        ax.legend(uniq.values(), uniq.keys())


def _fmt(s: dict | None, scale: float = 1.0, digits: int = 2) -> str:
    if not s:
        return "n/a"
    return f"{s['mean'] * scale:.{digits}f} ± {s['std'] * scale:.{digits}f}"


def _markdown(r: dict) -> str:
    cells = r["cells"]
    su = {c: r["summary"].get(c, {}) for c in cells}

    def row(label, key, scale=1.0, digits=2):
        return (label, *[_fmt(su[c].get(key), scale, digits) for c in cells])

    rows = [("units", *[str(r["budget_match"]["units"][c]) for c in cells]),
            ("successful / failed runs", *[f"{r['seeds'] - su[c].get('failed', 0)} / {su[c].get('failed', 0)}"
                                          for c in cells]),
            row("parameters", "params", 1, 0), row("MACs / inference", "macs", 1, 0),
            row("float accuracy %", "float", 100), row("int8 accuracy % (TFLite Micro)", "int8", 100),
            ("int8 accuracy %, median", *[_med(su[c].get("int8"), 100) for c in cells]),
            row("int8 drop, points", "int8_drop_points"), row("float32 weights, bytes", "float32_bytes", 1, 0),
            row("int8 .tflite size, bytes", "int8_bytes", 1, 0), row("TFLM arena, bytes", "arena_bytes", 1, 0),
            row("training seconds", "train_seconds", 1, 1), row("epochs to converge", "epochs", 1, 1)]
    for key in r["targets"]:
        rows.append((f"latency ms on {key}" + (" (estimate)" if key.startswith("mcu") else ""),
                     *[_fmt(su[c].get("latency_ms", {}).get(key), 1, 3) for c in cells]))
    errors = sorted({f"{m['arch'].upper()} on {k}: {t['error']}" for m in r["models"] for k, t in m["targets"].items()
                     if "error" in t} | {f"{m['arch'].upper()}: {m['int8_error']}" for m in r["models"] if "int8_error" in m}
                    | {f"{m['arch'].upper()} seed {m['seed']} pruned to {k}%: {e}" for m in r["models"]
                       for k, e in (m.get("pruning_errors") or {}).items()})
    bm = r["budget_match"]
    match = ", ".join(f"{c.upper()} {bm['units'][c]} units ({100 * bm['relative_difference'][c]:+.1f}%)" for c in cells)
    names = " vs ".join(c.upper() for c in cells)
    lines = [f"# {names} on {r['data']}", "", f"**Recommendation: {r['recommendation']['text']}**", "",
             f"Budget: {r['budget']} matched to {bm['reference'].upper()} ({match}). {r['seeds']} seeds per cell; "
             f"mean ± std over the successful runs. Whole comparison: {r['seconds'] / 60:.1f} minutes.", "",
             "| | " + " | ".join(c.upper() for c in cells) + " |", "|---" * (len(cells) + 1) + "|",
             *["| " + " | ".join(x) + " |" for x in rows], ""]
    lines += _failed_section(r) + _pairs_section(r) + _int8_drop_section(r)
    if errors:
        lines += ["Not measured:", *[f"- {e}" for e in errors], ""]
    lines += ["![trade-offs](accuracy_tradeoffs.png)", "", "![training curves](training_curves.png)", ""]
    if r.get("prune_sparsities"):
        lines += _pruning_section(r)
    if r["seq_len_study"]:
        units = ", ".join(f"{c.upper()} {u}" for c, u in {p["arch"]: p.get("units") for p in r["seq_len_study"]}.items())
        lines += [f"## Sequence length (class cue in the first {CUE_STEPS} steps, then noise; 4 classes, chance 25%; "
                  f"units matched on {r['budget']}: {units}; one seed)", "",
                  *_seq_table(r["seq_len_study"], cells), "", "![sequence length](seq_len.png)", ""]
    if r.get("user_data_seq_len_study"):
        lines += [f"## Your data resampled in time (originally {r['user_data_steps']} steps; one seed)", "",
                  *_seq_table(r["user_data_seq_len_study"], cells), ""]
    return "\n".join(lines)


def _med(s: dict | None, scale: float = 1.0) -> str:
    return "n/a" if not s else f"{s['median'] * scale:.2f}"


def _failed_section(r: dict) -> list[str]:
    chance = f"chance {100 * r['chance']:.1f}%, failure floor {100 * (r['chance'] + S.NEAR_CHANCE * (1 - r['chance'])):.1f}%"
    if not r["failed_runs"]:
        return [f"Failed runs: none ({chance}; training guard; NaN).", ""]
    return [f"## Failed runs (left out of every statistic; {chance})", "", "| cell | seed | why |", "|---|---|---|",
            *[f"| {f['arch'].upper()} | {f['seed']} | {'; '.join(f['reasons'])} |" for f in r["failed_runs"]], ""]


def _pairs_section(r: dict) -> list[str]:
    rec = r["recommendation"]
    if not rec.get("pairs"):
        return []
    words = {"first": "{a} more accurate", "second": "{b} more accurate", "tie": "tie",
             "unclear": "not enough evidence ({n} seeds needed)"}
    lines = [f"## Paired per-seed differences ({rec['basis']} accuracy, points; median and "
             f"{100 * S.CONFIDENCE:.0f}% bootstrap interval of the median)", "",
             f"Rules: a cell is clearly more accurate with >= {S.MIN_PAIRS} paired seeds, an interval excluding 0 and "
             f"a median >= {S.MIN_EFFECT_POINTS} pt; a tie when the interval is inside ±{S.EQUIVALENCE_POINTS} pt.", "",
             "| pair | seeds | differences | median | interval | verdict |", "|---|---|---|---|---|---|"]
    for p in rec["pairs"].values():
        a, b = p["first"].upper(), p["second"].upper()
        diffs = ", ".join(f"{d:+.2f}" for d in p.get("differences", []))
        med = "n/a" if p["median"] is None else f"{p['median']:+.2f}"
        iv = "n/a" if not p["interval"] else f"[{p['interval'][0]:+.2f}, {p['interval'][1]:+.2f}]"
        lines.append(f"| {a} - {b} | {p['n']} | {diffs} | {med} | {iv} | "
                     f"{words[p['verdict']].format(a=a, b=b, n=p.get('seeds_needed'))} |")
    return lines + [""]


def _int8_drop_section(r: dict) -> list[str]:
    """Which cell takes int8 better: per-cell drops and the paired per-seed differences of the drops."""
    drops = r.get("int8_drops") or S.int8_drops(r["models"], r["cells"])
    cells = [c for c in r["cells"] if drops["cells"].get(c, {}).get("n")]
    if not cells:
        return []
    iv = lambda v: "n/a" if not v else f"[{v[0]:+.2f}, {v[1]:+.2f}]"  # noqa: E731
    lines = [f"## int8 drop per cell (float accuracy - int8 accuracy on TFLite Micro, points; median and "
             f"{100 * S.CONFIDENCE:.0f}% bootstrap interval of the median)", "",
             "| cell | seeds | drops | median | interval |", "|---|---|---|---|---|",
             *[f"| {c.upper()} | {drops['cells'][c]['n']} | {', '.join(f'{d:+.2f}' for d in drops['cells'][c]['drops'])} "
               f"| {drops['cells'][c]['median']:+.2f} | {iv(drops['cells'][c]['interval'])} |" for c in cells], "",
             "| pair (drop - drop, paired by seed) | seeds | differences | median | interval | verdict |",
             "|---|---|---|---|---|---|"]
    for p in drops["pairs"].values():
        med = "n/a" if p["median"] is None else f"{p['median']:+.2f}"
        diffs = ", ".join(f"{d:+.2f}" for d in p.get("differences", []))
        lines.append(f"| {p['first'].upper()} - {p['second'].upper()} | {p['n']} | {diffs} | {med} | "
                     f"{iv(p['interval'])} | {S.int8_drop_word(p)} |")
    return lines + [""]


def _pruning_section(r: dict) -> list[str]:
    cells = r["cells"]
    keys = ["0"] + [S.sparsity_key(s) for s in r["prune_sparsities"]]
    lines = [f"## Pruning sensitivity (magnitude pruning, {r['prune_epochs']} fine-tuning epochs, then int8 on "
             "TFLite Micro; mean ± std over successful seeds)", "",
             "| sparsity | " + " | ".join(f"{c.upper()} int8 accuracy % | {c.upper()} drop, pt" for c in cells) + " |",
             "|---" * (2 * len(cells) + 1) + "|"]
    for k in keys:
        cols = []
        for c in cells:
            p = (r["summary"].get(c, {}).get("pruning") or {})
            base = p.get("0")
            cols.append(_fmt(p.get(k), 100))
            cols.append("n/a" if not (p.get(k) and base) else f"{100 * (base['mean'] - p[k]['mean']):.2f}")
        lines.append(f"| {k}% | " + " | ".join(cols) + " |")
    drops = ", ".join(f"{c.upper()} {_fmt(r['summary'].get(c, {}).get('int8_drop_points'))} pt" for c in cells)
    lines += ["", f"int8 drop (float -> int8) per cell: {drops}.", "",
              r["quantization_pruning_claim"]["text"], "", "![pruning sensitivity](pruning_sensitivity.png)", ""]
    return lines


def _seq_table(points: list[dict], cells=("gru", "lstm")) -> list[str]:
    """Markdown rows: accuracy of each cell at each sequence length."""
    rows = ["| steps | " + " | ".join(f"{c.upper()} accuracy" for c in cells) + " |", "|---" * (len(cells) + 1) + "|"]
    for n in sorted({p["steps"] for p in points}):
        acc = {p["arch"]: p["accuracy"] for p in points if p["steps"] == n}
        rows.append(f"| {n} | " + " | ".join(f"{100 * acc.get(c, float('nan')):.1f}%" for c in cells) + " |")
    return rows
