"""Float vs int8 accuracy per cell and calibration (issue 29): the drop int8 costs, judged on TFLite Micro.

    python tools/bench_int8.py RUN [RUN ...] [--calibrations minmax,percentile,mse] [--update-gates z,complement]
                               [--calibration-samples 300] [--qat-epochs N] [--c-check N]
                               [--json docs/results/data/int8.json]

For each classification or keyword run (``edgernn train --out``; GRU, LSTM or RNN) and each calibration
method: ``edgernn quantize RUN --mode int8 --calibration M`` into a scratch folder (the run folder is
not touched), then that int8 model's accuracy on TFLite Micro over the run's VALIDATION and TEST
splits, beside the float (Keras) model's on the same clips, the drop in points and the model's bytes.
``--calibration`` applies to the GRU and RNN graphs edgernn builds; the LSTM goes through the TFLite
converter (its own min/max calibration), so it gets one row. The "chosen" column marks, per run, the
method with the best VALIDATION int8 accuracy (ties: see below): a choice made on validation only,
whose test figure is then the honest one. ``--qat-epochs N`` adds, for GRU and RNN runs, one row
per method with N epochs of quantization-aware fine-tuning (``quantize --qat-epochs``) before the build.
"Chosen on val" (here and in the summary): the highest int8 VALIDATION accuracy, ties broken by the fewest
validation flips (below), then by the order listed.
``--update-gates``: for GRU runs, every row once per update-gate form (``quantize --update-gate``: z, or
complement, which computes 1 - z directly). "flips" counts the clips whose int8 class differs from the float
model's: far less noisy than an accuracy difference (one clip of ~1,100 is 0.09 points).

Over seeds (the record's second table): runs of the same data set and cell trained with different seeds
(``edgernn train --seed``) are grouped, and each run's rows are reduced to three forms: PTQ with minmax
ranges (the LSTM: the converter's own calibration, its only row), PTQ with the improved calibration
(percentile or mse, chosen on val per run) and QAT (the QAT row chosen on val per run). Per form: the mean
float and int8 test accuracy, the test drop of each seed, the mean and the worst drop, how many seeds drop
at most GOAL_POINTS, and the generated C's agreement with TFLite Micro summed over the seeds. A form that
does not exist for a cell (calibration and QAT for the converter's LSTM) gets a row saying so.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))


def classes(model: Path, runtime: str, X: np.ndarray) -> np.ndarray:
    from edgernn.bench.evaluate import predict
    from edgernn.runtimes import open_runtime

    with open_runtime(model, runtime) as rt:
        return predict(rt, X, progress=False).argmax(-1)


def accuracy(model: Path, runtime: str, X: np.ndarray, y: np.ndarray) -> float:
    return float((classes(model, runtime, X) == y).mean())


def c_bit_exact(model: Path, X: np.ndarray) -> str:
    """The generated C (host build) against TFLite Micro on these inputs: "same/total" output bytes."""
    from edgernn.runtimes.native import NativeRuntime
    from edgernn.runtimes.tflm import TFLMRuntime

    native, ref = NativeRuntime(model), TFLMRuntime(model)
    info = ref.input_info()
    same = 0
    for x in X:
        xq = np.clip(np.round(x / info.scale) + info.zero_point, -128, 127).astype(np.int8).reshape(info.shape)
        same += int(np.array_equal(native.invoke_raw(xq), ref.invoke_raw(xq)))
    return f"{same}/{len(X)}"


GOAL_POINTS = 0.5  # issue 29: int8 may cost at most this many test points
IMPROVED = ("percentile", "mse")  # the calibrations that improve on minmax ranges


def val_key(r: dict) -> tuple:
    """Sort key of the choice made on validation: higher int8 val accuracy, then fewer val flips."""
    return (r["int8_val"], -r["flips_val"])


def pick_on_val(rows: list[dict]) -> dict | None:
    """The row validation chooses (val_key; ties: the first listed), or None for no rows."""
    best = None
    for r in rows:
        if best is None or val_key(r) > val_key(best):
            best = r
    return best


def study(run: Path, methods: list[str], samples: int, qat_epochs: int = 0, c_check: int = 0,
          gates: tuple[str, ...] = ("complement",)) -> list[dict]:
    from edgernn import api
    from edgernn.records import read_config
    from edgernn.train.run import load_data_for_run, prepare_inputs

    config = read_config(run / "config.json")
    if config.task not in ("kws", "classify"):
        raise SystemExit(f"{run}: a {config.task} run; this bench scores class accuracy")
    ds = load_data_for_run(config).splits
    sets = {s: (prepare_inputs(ds[s].X, config), np.asarray(ds[s].y)) for s in ("val", "test")}
    fl_cls = {s: classes(run / "model.keras", "keras", sets[s][0]) for s in sets}
    fl = {s: float((fl_cls[s] == sets[s][1]).mean()) for s in sets}
    cell = f"{config.arch.upper()}-{config.units}" + (f"x{config.layers}" if config.layers > 1 else "")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        own = config.arch in ("gru", "rnn")
        gs = gates if config.arch == "gru" else ("",)
        forms = [(m, 0, g) for m in (methods if own else ["minmax"]) for g in gs]
        forms += [(m, qat_epochs, g) for m in methods for g in gs] if own and qat_epochs else []
        for m, qe, g in forms:
            model = Path(api.quantize(run, mode="int8", calibration_samples=samples, calibration=m, qat_epochs=qe,
                                      out=Path(tmp) / f"int8-{m}-{qe}-{g}.tflite", **({"update_gate": g} if g else {})))
            cls = {s: classes(model, "tflm", sets[s][0]) for s in sets}
            q = {s: float((cls[s] == sets[s][1]).mean()) for s in sets}
            rows.append({"run": str(run), "cell": cell, "data": str(config.data), "set": Path(config.data).stem,
                         "seed": config.seed, "method": m, "qat_epochs": qe, "calibration": m + (f" + QAT {qe} ep" if qe else ""),
                         "update_gate": g or "n/a",
                         "flips_val": int((cls["val"] != fl_cls["val"]).sum()),
                         "flips_test": int((cls["test"] != fl_cls["test"]).sum()),
                         "float_val": fl["val"], "int8_val": q["val"], "float_test": fl["test"], "int8_test": q["test"],
                         "drop_test_points": 100 * (fl["test"] - q["test"]), "bytes": model.stat().st_size,
                         "val_clips": len(sets["val"][1]), "test_clips": len(sets["test"][1]),
                         "c_bit_exact": c_bit_exact(model, sets["test"][0][:c_check]) if c_check else "not run"})
    best = pick_on_val(rows)
    for r in rows:
        r["chosen_on_val"] = r is best
    return rows


COLUMNS = ["run", "cell", "calibration", "update gate", "float val %", "int8 val %", "float test %", "int8 test %",
           "drop (test, points)", "flips vs float (val)", "flips vs float (test)", "bytes", "C = TFLM (test clips)",
           "chosen on val"]


def table_row(r: dict) -> list:
    return [r["run"], r["cell"], r["calibration"], r["update_gate"], round(100 * r["float_val"], 2),
            round(100 * r["int8_val"], 2), round(100 * r["float_test"], 2), round(100 * r["int8_test"], 2),
            round(r["drop_test_points"], 2), r["flips_val"], r["flips_test"], r["bytes"], r["c_bit_exact"],
            "yes" if r["chosen_on_val"] else ""]


SUMMARY_COLUMNS = ["set", "cell", "form", "update gate", "seeds", "float test % (mean)", "int8 test % (mean)",
                   "drop per seed (test, points)", "mean drop", "worst drop", f"seeds <= {GOAL_POINTS} pt",
                   "calibration per seed", "C = TFLM (test clips)"]


def _forms(run_rows: list[dict]) -> dict:
    """One run's rows reduced to the summary's forms: {form: row or None (the form does not exist)}."""
    ptq = [r for r in run_rows if not r["qat_epochs"]]
    own = run_rows[0]["cell"].split("-")[0] in ("GRU", "RNN")  # edgernn's own graphs; the LSTM is the converter's
    qat = [r for r in run_rows if r["qat_epochs"]]
    return {"PTQ minmax" if own else "PTQ (converter)": next((r for r in ptq if r["method"] == "minmax"), None),
            "PTQ percentile/mse (chosen on val)": pick_on_val([r for r in ptq if r["method"] in IMPROVED]),
            "QAT (chosen on val)": pick_on_val(qat)}


def _c_sum(values: list[str]) -> str:
    if any("/" not in v for v in values):
        return "not run"
    same, total = (sum(int(v.split("/")[i]) for v in values) for i in (0, 1))
    return f"{same}/{total}"


def summarize(rows: list[dict]) -> list[list]:
    """The per-set, per-cell, per-form table over seeds (see the module docstring), in the rows' order."""
    groups: dict = {}
    for r in rows:  # each update gate of a GRU gets its own summary rows
        groups.setdefault((r["set"], r["cell"], r["update_gate"]), {}).setdefault(r["run"], []).append(r)
    out = []
    for (name, cell, gate), by_run in groups.items():
        per_run = sorted(((rs[0]["seed"], _forms(rs)) for rs in by_run.values()), key=lambda t: t[0])
        for form in per_run[0][1]:
            picked = [forms.get(form) for _, forms in per_run]
            got = [p for p in picked if p is not None]
            if not got:
                why = "n/a (converter LSTM)" if "converter" in "".join(per_run[0][1]) else "not measured"
                out.append([name, cell, form, gate, len(picked)] + [why] * (len(SUMMARY_COLUMNS) - 5))
                continue
            drops = [p["drop_test_points"] for p in got]
            out.append([name, cell, form, gate, len(picked),
                        round(100 * float(np.mean([p["float_test"] for p in got])), 2),
                        round(100 * float(np.mean([p["int8_test"] for p in got])), 2),
                        " / ".join(f"{p['drop_test_points']:.2f}" if p else "missing" for p in picked),
                        round(float(np.mean(drops)), 2), round(max(drops), 2),
                        f"{sum(d <= GOAL_POINTS + 1e-9 for d in drops)}/{len(picked)}",
                        " / ".join(p["calibration"] if p else "missing" for p in picked),
                        _c_sum([p["c_bit_exact"] for p in got])])
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("runs", nargs="+", type=Path, help="run folders (edgernn train --out)")
    ap.add_argument("--calibrations", default="minmax,percentile,mse", help="comma-separated quantize --calibration methods")
    ap.add_argument("--calibration-samples", type=int, default=300, help="as edgernn quantize (default 300)")
    ap.add_argument("--qat-epochs", type=int, default=0, help="also rows with this many QAT epochs (GRU, RNN)")
    ap.add_argument("--update-gates", default="complement",
                    help="comma-separated quantize --update-gate forms for GRU runs (z, complement)")
    ap.add_argument("--c-check", type=int, default=0,
                    help="also compare the generated C with TFLite Micro on this many test clips (0: no)")
    ap.add_argument("--json", type=Path, help="write a results record (docs/results/data/...) here")
    args = ap.parse_args(argv)
    methods = [m.strip() for m in args.calibrations.split(",") if m.strip()]
    t0 = time.process_time()
    rows = []
    print(" | ".join(COLUMNS))
    for run in args.runs:
        gates = tuple(g.strip() for g in args.update_gates.split(",") if g.strip())
        for r in study(run, methods, args.calibration_samples, args.qat_epochs, args.c_check, gates):
            rows.append(r)
            print(" | ".join(str(v) for v in table_row(r)), flush=True)
    summary = summarize(rows)
    print("\nover seeds (test drop, points; goal <= %s)" % GOAL_POINTS)
    print(" | ".join(SUMMARY_COLUMNS))
    for row in summary:
        print(" | ".join(str(v) for v in row))
    print(f"CPU seconds (this process): {time.process_time() - t0:.0f}")
    if args.json:
        from results_record import write_record

        write_record(args.json, title="int8 accuracy drop per cell and calibration (TFLite Micro)",
                     tool="tools/bench_int8.py", command="python tools/bench_int8.py " + " ".join(argv or sys.argv[1:]),
                     describes=["edgernn/optimize/gru_int8.py", "edgernn/optimize/rnn_int8.py",
                                "edgernn/optimize/quantize.py", "edgernn/optimize/qat.py"],
                     tables=[{"title": "float vs int8 (TFLite Micro), per run and calibration", "columns": COLUMNS,
                              "rows": [table_row(r) for r in rows]},
                             {"title": f"over seeds, per set, cell and form (test drop in points; goal <= {GOAL_POINTS})",
                              "columns": SUMMARY_COLUMNS, "rows": summary}])
    return 0


if __name__ == "__main__":
    sys.exit(main())
