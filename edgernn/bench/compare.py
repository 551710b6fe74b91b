"""``edgernn compare``: GRU or LSTM for this data and these targets? Measured, not anecdotal.

1. Budget matching: the GRU keeps ``--units``; the LSTM gets the unit count whose parameters,
   int8 weight bytes or MACs per inference (``--budget``) come closest to the GRU's.
2. Both cells are trained with several seeds, quantized to int8, checked on TFLite Micro and
   benchmarked on every target; figures are reported as mean ± std over seeds.
3. A sequence-length study on a task whose answer is only in its first steps (a class cue, then
   noise to the end) shows where each cell's memory gives out.
4. The recommendation at the top is computed from the figures, with the figures it rests on.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from edgernn import io
from edgernn.errors import UserError
from edgernn.models import count_macs, count_params, recurrent_dims

BUDGETS = ("params", "size", "macs")
ARCHS = ("gru", "lstm")


def int8_weight_bytes(config: dict) -> int:
    """int8 storage of the weights with int32 biases (what an int8 model's constants take)."""
    from edgernn.models import cell, head_dims

    bias_values = sum(cell(config["arch"]).biases(u) for _, u in recurrent_dims(config))
    _, h_out = head_dims(config)
    bias_values += h_out
    total_params = count_params(config)
    return (total_params - bias_values) + 4 * bias_values


BUDGET_FN = {"params": count_params, "size": int8_weight_bytes, "macs": count_macs}


def match_units(base: dict, budget: str, ref_arch: str, ref_units: int, other_arch: str) -> tuple[int, float]:
    """The other cell's unit count closest to the reference's budget; (units, relative difference)."""
    if budget not in BUDGETS:
        raise UserError(f"unknown budget {budget!r} (choose from {', '.join(BUDGETS)})")
    fn = BUDGET_FN[budget]
    target = fn(dict(base, arch=ref_arch, units=ref_units))
    best = min(range(1, 1025), key=lambda u: abs(fn(dict(base, arch=other_arch, units=u)) - target))
    return best, (fn(dict(base, arch=other_arch, units=best)) - target) / target


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
               targets, progress: bool) -> dict:
    # Stage functions, not edgernn.api (which imports this module: no cycle).
    from edgernn.bench.evaluate import evaluate
    from edgernn.bench.harness import bench, bench_mcu
    from edgernn.export.check import check
    from edgernn.optimize.quantize import quantize
    from edgernn.train.loop import train

    kwargs = {"epochs": epochs} if epochs else {}
    run = train(task=task, arch=arch, units=units, data=data, out=out, seed=seed, overwrite=True,
                progress=progress, **kwargs)
    config = io.read_json(run / "config.json")
    metrics = io.read_json(run / "metrics.json")
    name = "roc_auc" if task == "anomaly" else "accuracy"
    r = {"arch": arch, "units": units, "seed": seed, "run": str(run), "metric": name, "float": metrics[name],
         "params": config["params"], "macs": config["macs"], "train_seconds": config["train_seconds"],
         "float32_bytes": config["float32_bytes"],
         "epochs": config["epochs_run"], "history": io.read_json(run / "history.json"), "targets": {}}
    try:
        int8 = quantize(run, mode="int8")
    except UserError as e:
        r["int8_error"] = str(e)
        return r
    r["int8"] = evaluate(int8, runtime="tflm", progress=False)[name]
    chk = check(int8)
    r.update(int8_bytes=int8.stat().st_size, arena_bytes=chk.get("arena_bytes"))
    for kind, board in targets:
        key = kind if board is None else f"mcu:{board}"
        if kind == "cpu":
            row = bench([int8], target="cpu", runtimes=["litert"], runs=100, warmup=10, repeats=1, limit=0,
                        progress=False)[0]
            r["targets"][key] = {"latency_ms": row["latency_ms"]["p50"], "basis": "measured p50, LiteRT, 1 thread"}
        else:
            try:
                row = bench_mcu([int8], board=board, vectors=2, limit=0)[0]["mcu"]
                if not row["bit_exact_vs_tflm"]:
                    raise UserError(f"the generated C differs from TFLite Micro on {row['mismatching_vectors']} "
                                    f"of {row['vectors']} vectors")
                r["targets"][key] = {"latency_ms": row["estimated_latency_ms"], "flash_bytes": row["flash_bytes"],
                                     "ram_bytes": row["ram_bytes"], "instructions_per_mac": row["instructions_per_mac"],
                                     "bit_exact_vs_tflm": True, "basis": row["estimate"]}
            except UserError as e:
                r["targets"][key] = {"error": str(e)}
    return r


def _stats(values) -> dict | None:
    v = [x for x in values if x is not None]
    if not v:
        return None
    return {"mean": float(np.mean(v)), "std": float(np.std(v, ddof=1)) if len(v) > 1 else 0.0, "n": len(v)}


def summarize(models: list[dict], targets) -> dict:
    out = {}
    for arch in ARCHS:
        ms = [m for m in models if m["arch"] == arch]
        if not ms:
            continue
        s = {k: _stats([m.get(k) for m in ms]) for k in ("float", "int8", "params", "macs", "float32_bytes", "int8_bytes",
                                                          "arena_bytes", "train_seconds", "epochs")}
        s["int8_drop_points"] = _stats([100 * (m["float"] - m["int8"]) for m in ms if "int8" in m])
        s["units"] = ms[0]["units"]
        s["latency_ms"] = {}
        for kind, board in targets:
            key = kind if board is None else f"mcu:{board}"
            s["latency_ms"][key] = _stats([m["targets"].get(key, {}).get("latency_ms") for m in ms])
        out[arch] = s
    return out


def recommend(summary: dict, targets) -> dict:
    """A verdict computed from the figures: accuracy difference vs seed noise, and the costs."""
    g, l = summary.get("gru"), summary.get("lstm")
    if not g or not l:
        return {"text": "only one cell type was measured; nothing to compare", "figures": {}}
    acc = "int8" if g.get("int8") and l.get("int8") else "float"
    d_acc = 100 * (g[acc]["mean"] - l[acc]["mean"])
    noise = 100 * max(g[acc]["std"], l[acc]["std"])
    pct = lambda a, b: 100 * (a - b) / b if b else 0.0  # noqa: E731
    figures = {"accuracy_points_gru_minus_lstm": d_acc, "seed_noise_points": noise, "accuracy_basis": acc}
    costs = []
    if g.get("int8_bytes") and l.get("int8_bytes"):
        figures["flash_pct"] = pct(g["int8_bytes"]["mean"], l["int8_bytes"]["mean"])
        costs.append(f"{figures['flash_pct']:+.0f}% flash")
    figures["train_time_pct"] = pct(g["train_seconds"]["mean"], l["train_seconds"]["mean"])
    costs.append(f"{figures['train_time_pct']:+.0f}% training time")
    faster_votes = 0
    for key, gs in g["latency_ms"].items():
        ls = l["latency_ms"].get(key)
        if gs and ls:
            p = pct(gs["mean"], ls["mean"])
            figures[f"latency_pct_{key}"] = p
            costs.append(f"{p:+.0f}% latency on {key}")
            faster_votes += 1 if p < 0 else -1
    cheaper = "gru" if faster_votes + (1 if figures.get("flash_pct", 0) < 0 else -1) >= 0 else "lstm"
    cost_text = ", ".join(costs)
    if abs(d_acc) <= max(noise, 0.1):
        verdict = (f"{cheaper.upper()}: accuracy is a tie within seed noise ({d_acc:+.2f} pt, noise ±{noise:.2f} pt); "
                   f"GRU vs LSTM costs: {cost_text} -> take the cheaper one, {cheaper.upper()}")
    else:
        better = "gru" if d_acc > 0 else "lstm"
        if better == cheaper:
            verdict = (f"{better.upper()}: more accurate ({d_acc:+.2f} pt GRU-LSTM, seed noise ±{noise:.2f} pt) and "
                       f"faster or smaller on balance; GRU relative to LSTM: {cost_text}")
        else:
            verdict = (f"GRU: {d_acc:+.2f} pt accuracy, {cost_text} (GRU relative to LSTM) -> {cheaper.upper()} "
                       f"unless {abs(d_acc):.2f} pt matters; then {better.upper()}")
    return {"text": verdict, "figures": figures}


def compare(data, task: str = "kws", budget: str = "params", units: int = 64, seeds: int = 3,
            targets: str = "cpu", seq_lens: str | None = "50,200,800", out="compare", epochs: int | None = None,
            seq_epochs: int = 30, seq_samples: int = 4000, user_seq_lens: str | None = None, overwrite: bool = False,
            progress: bool = True) -> Path:
    """Train, convert and benchmark GRU and LSTM with matched budgets; write DIR/report.md and comparison.json."""
    from edgernn.data import TASKS

    if task not in TASKS:
        raise UserError(f"unknown task {task!r} (choose from {', '.join(TASKS)})")
    if seeds < 1:
        raise UserError("--seeds must be at least 1")
    tgts = parse_targets(targets)
    lens = _lengths(seq_lens, "--seq-lens")
    user_lens = _lengths(user_seq_lens, "--user-seq-lens")
    if user_lens and task == "anomaly":
        raise UserError("--user-seq-lens resamples classification data; anomaly windows are set by the loader")
    from edgernn.data import load_dataset

    ds = load_dataset(data, task=task)
    base = {"task": task, "layers": 1, "input_shape": list(ds.input_shape), "class_names": ds.class_names}
    lstm_units, diff = match_units(base, budget, "gru", units, "lstm")
    start = time.perf_counter()
    out = Path(out)
    with io.atomic_dir(out, overwrite=overwrite) as tmp:
        models = [_one_model(arch, u, seed, data, task, tmp / "runs" / f"{arch}{u}-seed{seed}", epochs, tgts, progress)
                  for seed in range(seeds) for arch, u in (("gru", units), ("lstm", lstm_units))]
        seq = [dict(_seq_point(tmp, n, arch, seq_epochs, seq_samples, progress), steps=n)
               for n in lens for arch in ARCHS]
        user_seq = [_user_seq_point(tmp, ds, n, arch, u, epochs, progress)
                    for n in user_lens for arch, u in (("gru", units), ("lstm", lstm_units))]
        summary = summarize(models, tgts)
        result = {"data": str(data), "task": task, "budget": budget, "budget_match": {
            "gru_units": units, "lstm_units": lstm_units, "relative_difference": diff},
            "seeds": seeds, "targets": [t if b is None else f"{t}:{b}" for t, b in tgts],
            "recommendation": recommend(summary, tgts), "summary": summary,
            "models": [{k: v for k, v in m.items() if k != "history"} for m in models], "seq_len_study": seq,
            "user_data_seq_len_study": user_seq, "user_data_steps": ds.input_shape[0],
            "seconds": round(time.perf_counter() - start, 1)}
        io.write_json(tmp / "comparison.json", result)
        _plots(tmp, models, summary, seq, tgts)
        io.atomic_write_text(tmp / "report.md", _markdown(result))
    return out


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
                overwrite=True, progress=progress, **kwargs)
    m, c = io.read_json(run / "metrics.json"), io.read_json(run / "config.json")
    return {"arch": arch, "steps": steps, "accuracy": m["accuracy"], "train_seconds": c["train_seconds"]}


def _lengths(spec: str | None, option: str) -> list[int]:
    try:
        lens = [int(v) for v in spec.split(",") if v.strip()] if spec else []
    except ValueError:
        lens = [0]
    if any(n < 2 for n in lens):
        raise UserError(f"{option} must be comma-separated integers >= 2 (got {spec!r})")
    return lens


def _seq_point(folder: Path, steps: int, arch: str, epochs: int, samples: int, progress: bool) -> dict:
    from edgernn.train.loop import train

    data = long_dependency_data(folder / "seqlen" / f"first_step_{steps}.npz", steps, n=samples)
    # No early stopping: long-dependency tasks sit on a loss plateau before they are learned.
    run = train(task="classify", arch=arch, units=32, data=data, out=folder / "seqlen" / f"{arch}-{steps}",
                epochs=epochs, patience=epochs, overwrite=True, progress=progress)
    m, c = io.read_json(run / "metrics.json"), io.read_json(run / "config.json")
    return {"arch": arch, "accuracy": m["accuracy"], "train_seconds": c["train_seconds"], "chance": 0.25}


def _plots(folder: Path, models, summary, seq, targets) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from edgernn.train.plots import save_png

    colors = {"gru": "tab:blue", "lstm": "tab:orange"}
    keys = [k if b is None else f"mcu:{b}" for k, b in targets]
    fig, axes = plt.subplots(1, len(keys) + 1, figsize=(5 * (len(keys) + 1), 4), squeeze=False)
    for ax, key in zip(axes[0], keys):
        for m in models:
            t = m["targets"].get(key, {})
            if "latency_ms" in t and "int8" in m:
                ax.scatter(t["latency_ms"], 100 * m["int8"], color=colors[m["arch"]], label=m["arch"].upper())
        ax.ticklabel_format(axis="x", useOffset=False)
        ax.set_xlabel(f"latency ms on {key}" + (" (estimate)" if key.startswith("mcu") else " (p50)"))
        ax.set_ylabel("int8 test accuracy, %")
        ax.set_title(f"accuracy vs latency: {key}")
    ax = axes[0][-1]
    for m in models:
        if "int8_bytes" in m:
            ax.scatter(m["int8_bytes"] / 1024, 100 * m["int8"], color=colors[m["arch"]], label=m["arch"].upper())
    ax.set_xlabel("int8 model (flash) KB")
    ax.set_title("accuracy vs flash")
    for a in axes[0]:
        handles, labels = a.get_legend_handles_labels()
        uniq = dict(zip(labels, handles))
        if uniq:
            a.legend(uniq.values(), uniq.keys())
        a.grid(alpha=0.3)
    save_png(fig, folder / "accuracy_tradeoffs.png")
    fig, ax = plt.subplots(figsize=(7, 4))
    for m in models:
        h = m["history"]
        if "val_accuracy" in h:
            ax.plot(np.arange(1, len(h["val_accuracy"]) + 1), h["val_accuracy"], color=colors[m["arch"]], alpha=0.7,
                    label=m["arch"].upper())
    handles, labels = ax.get_legend_handles_labels()
    uniq = dict(zip(labels, handles))
    if uniq:
        ax.legend(uniq.values(), uniq.keys())
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation accuracy")
    ax.set_title("training curves, every seed")
    ax.grid(alpha=0.3)
    save_png(fig, folder / "training_curves.png")
    if seq:
        fig, ax = plt.subplots(figsize=(6, 4))
        for arch in ARCHS:
            pts = sorted((p["steps"], p["accuracy"]) for p in seq if p["arch"] == arch)
            ax.plot([p[0] for p in pts], [100 * p[1] for p in pts], "o-", color=colors[arch], label=arch.upper())
        ax.axhline(25, color="grey", ls=":", label="chance")
        ax.set_xscale("log")
        ax.set_xlabel("sequence length (steps between the cue and the answer)")
        ax.set_ylabel("test accuracy, %")
        ax.set_title("long-dependency task")
        ax.legend()
        ax.grid(alpha=0.3)
        save_png(fig, folder / "seq_len.png")


def _fmt(s: dict | None, scale: float = 1.0, digits: int = 2) -> str:
    if not s:
        return "n/a"
    return f"{s['mean'] * scale:.{digits}f} ± {s['std'] * scale:.{digits}f}"


def _markdown(r: dict) -> str:
    g, l = r["summary"].get("gru", {}), r["summary"].get("lstm", {})
    rows = [("units", str(g.get("units")), str(l.get("units"))),
            ("parameters", _fmt(g.get("params"), 1, 0), _fmt(l.get("params"), 1, 0)),
            ("MACs / inference", _fmt(g.get("macs"), 1, 0), _fmt(l.get("macs"), 1, 0)),
            ("float accuracy %", _fmt(g.get("float"), 100), _fmt(l.get("float"), 100)),
            ("int8 accuracy % (TFLite Micro)", _fmt(g.get("int8"), 100), _fmt(l.get("int8"), 100)),
            ("int8 drop, points", _fmt(g.get("int8_drop_points")), _fmt(l.get("int8_drop_points"))),
            ("float32 weights, bytes", _fmt(g.get("float32_bytes"), 1, 0), _fmt(l.get("float32_bytes"), 1, 0)),
            ("int8 .tflite size, bytes", _fmt(g.get("int8_bytes"), 1, 0), _fmt(l.get("int8_bytes"), 1, 0)),
            ("TFLM arena, bytes", _fmt(g.get("arena_bytes"), 1, 0), _fmt(l.get("arena_bytes"), 1, 0)),
            ("training seconds", _fmt(g.get("train_seconds"), 1, 1), _fmt(l.get("train_seconds"), 1, 1)),
            ("epochs to converge", _fmt(g.get("epochs"), 1, 1), _fmt(l.get("epochs"), 1, 1))]
    for key in r["targets"]:
        rows.append((f"latency ms on {key}" + (" (estimate)" if key.startswith("mcu") else ""),
                     _fmt(g.get("latency_ms", {}).get(key), 1, 3), _fmt(l.get("latency_ms", {}).get(key), 1, 3)))
    errors = sorted({f"{m['arch'].upper()} on {k}: {t['error']}" for m in r["models"] for k, t in m["targets"].items()
                     if "error" in t} | {f"{m['arch'].upper()}: {m['int8_error']}" for m in r["models"] if "int8_error" in m})
    lines = [f"# GRU vs LSTM on {r['data']}", "", f"**Recommendation: {r['recommendation']['text']}**", "",
             f"Budget: {r['budget']} matched (GRU {r['budget_match']['gru_units']} units, LSTM "
             f"{r['budget_match']['lstm_units']} units, {100 * r['budget_match']['relative_difference']:+.1f}%). "
             f"{r['seeds']} seeds; mean ± std. Whole comparison: {r['seconds'] / 60:.1f} minutes.", "",
             "| | GRU | LSTM |", "|---|---|---|", *[f"| {a} | {b} | {c} |" for a, b, c in rows], ""]
    if errors:
        lines += ["Not measured:", *[f"- {e}" for e in errors], ""]
    lines += ["![trade-offs](accuracy_tradeoffs.png)", "", "![training curves](training_curves.png)", ""]
    if r["seq_len_study"]:
        lines += [f"## Sequence length (class cue in the first {CUE_STEPS} steps, then noise; 4 classes, chance 25%)", "",
                  *_seq_table(r["seq_len_study"]), "", "![sequence length](seq_len.png)", ""]
    if r.get("user_data_seq_len_study"):
        lines += [f"## Your data resampled in time (originally {r['user_data_steps']} steps; one seed)", "",
                  *_seq_table(r["user_data_seq_len_study"]), ""]
    return "\n".join(lines)


def _seq_table(points: list[dict]) -> list[str]:
    """Markdown rows: accuracy of each cell at each sequence length."""
    rows = ["| steps | GRU accuracy | LSTM accuracy |", "|---|---|---|"]
    for n in sorted({p["steps"] for p in points}):
        acc = {p["arch"]: p["accuracy"] for p in points if p["steps"] == n}
        rows.append(f"| {n} | {100 * acc.get('gru', float('nan')):.1f}% | {100 * acc.get('lstm', float('nan')):.1f}% |")
    return rows
