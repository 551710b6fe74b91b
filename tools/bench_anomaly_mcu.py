"""Deployable anomaly models (issue 11, Must show): int8 GRU and LSTM predictor / autoencoder on TFLite
Micro and in the generated C, bit-exact.

    python tools/bench_anomaly_mcu.py [--sets yahoo mitdb] [--out bench_anomaly_mcu] [--units 32]
                                      [--random 100] [--qemu-vectors 4] [--board mps2-an386]

Data: the labelled anomaly series bundled inside the sktime wheel (`edgernn data bundled`; no network),
trained as tools/bench_real.py does (default options, `--window auto`, `--train-end` at 40% of the
series). For each series and each of GRU / LSTM x predictor / autoencoder (`--units` units, one layer):
`edgernn quantize --mode int8`, then
- TFLite Micro runs: `edgernn check` loads and invokes the model in tflite-micro's interpreter (yes/no,
  and the ops it lacks if not);
- host C bit-exact k/N: the generated C built for this machine against TFLite Micro, every output byte of
  every step, on all test windows of the series plus `--random` random int8 windows;
- QEMU bit-exact k/N: the C in Cortex-M firmware (`--board`), on the first `--qemu-vectors` test windows,
  and its instructions per inference;
- ROC-AUC of the window anomaly scores on the test split: float Keras model (training's metrics.json)
  and the int8 model on TFLite Micro (the C, bit-exact with it, has the same), and for both whether the
  top-1 location hits the labelled anomaly; "guard" is training's "did not learn" verdict (metrics.json).
For the LSTM autoencoder, whose RepeatVector converts to TILE (no TFLite Micro kernel) and which
`quantize` writes as BROADCAST_TO, it also compares LiteRT on the converter's TILE model with LiteRT on
the rewritten model over the same windows (the rewrite must change nothing).
Prints one JSON line per model as it goes, then the table and the run time.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # results_record, beside this script

from edgernn import api  # noqa: E402
from results_record import write_record  # noqa: E402

MODELS = [("gru", "predictor"), ("gru", "autoencoder"), ("lstm", "predictor"), ("lstm", "autoencoder")]
TRAIN_END_FRACTION = 0.4  # the rule tools/bench_real.py uses for every series


def test_windows(run: Path, model: Path) -> list[np.ndarray]:
    """Every test window of the run's series, int8 as the model takes it."""
    from edgernn.runtimes.base import quantize
    from edgernn.runtimes.tflm import TFLMRuntime
    from edgernn.train.run import load_data_for_run, load_run, prepare_inputs

    _, config = load_run(run)
    X = prepare_inputs(load_data_for_run(config).splits["test"].X, config)
    info = TFLMRuntime(model).input_info()
    return [quantize(X[i:i + 1], info) for i in range(len(X))]


def bit_exact(a, b, inputs) -> int:
    return sum(int(np.array_equal(a.invoke_raw(x), b.invoke_raw(x))) for x in inputs)


def tile_model_agrees(run: Path, model: Path, inputs) -> int:
    """LiteRT on the converter's own int8 model (with TILE) vs LiteRT on the rewritten one: windows equal."""
    from edgernn.optimize.quantize import calibration_set, convert_in_child
    from edgernn.runtimes.litert import LiteRTRuntime
    from edgernn.train.run import load_run

    _, config = load_run(run)
    original = model.with_name("model_int8_with_tile.tflite")
    original.write_bytes(convert_in_child(run, "int8", calibration_set(config, 300, 0)))  # quantize's defaults
    return bit_exact(LiteRTRuntime(original), LiteRTRuntime(model), inputs)


def one_model(series: str, data: Path, out: Path, arch: str, kind: str, args) -> dict:
    from edgernn.export.check import check
    from edgernn.records import read_config
    from edgernn.runtimes.native import NativeRuntime
    from edgernn.runtimes.tflm import TFLMRuntime
    from edgernn.targets.mcu import measure
    from edgernn.tflite.info import describe

    n = sum(1 for _ in open(data)) - 1
    t0 = time.time()
    run = api.train(task="anomaly", arch=arch, units=args.units, data=data, anomaly_model=kind,
                    out=out / "runs" / f"{series}-{arch}-{kind}", overwrite=True, progress=False,
                    data_options={"window": "auto", "train_end": int(n * TRAIN_END_FRACTION)})
    model = api.quantize(run, mode="int8")
    metrics = json.loads((run / "metrics.json").read_text())
    config = read_config(run / "config.json")
    ops = describe(model)["ops"]
    row = {"series": series, "arch": arch, "kind": kind, "window": config.data_options.window,
           "ops": " ".join(sorted(ops)), "float_roc_auc": metrics["roc_auc"],
           "float_top1_hit": metrics.get("events", {}).get("top1_hit"),
           "guard_flagged": metrics.get("guard", {}).get("did_not_learn", False)}
    c = check(model)
    row["tflm_runs"] = bool(c["runs"])
    if not c["runs"]:
        row["reason"] = c.get("reason")
        print(json.dumps(row), flush=True)
        return row
    windows = test_windows(run, model)
    shape = windows[0].shape
    rng = np.random.default_rng(0)
    inputs = windows + [rng.integers(-128, 128, size=shape).astype(np.int8) for _ in range(args.random)]
    row["host_c_bit_exact"] = [bit_exact(NativeRuntime(model), TFLMRuntime(model), inputs), len(inputs)]
    q = measure(model, args.board, vectors=args.qemu_vectors, data_inputs=np.stack(windows),
                out=out / "firmware" / f"{series}-{arch}-{kind}")
    # the firmware prints every output; the host compares them with TFLite Micro's
    row["qemu_bit_exact"] = [q["vectors"] - q["mismatching_vectors"], q["vectors"]]
    row["qemu_instructions"] = q["instructions_per_inference"]
    ev = api.evaluate(model, runtime="tflm", progress=False)
    row["int8_tflm_roc_auc"], row["int8_tflm_top1_hit"] = ev["roc_auc"], ev["events"]["top1_hit"]
    if "BROADCAST_TO" in ops:
        row["litert_tile_vs_broadcast"] = [tile_model_agrees(run, model, windows), len(windows)]
    row["seconds"] = round(time.time() - t0)
    print(json.dumps(row), flush=True)
    return row


def _k_of_n(v) -> str:
    return "-" if v is None else f"{v[0]}/{v[1]}"


def print_table(rows: list[dict]) -> None:
    head = ["series", "model", "window", "TFLM runs", "host C bit-exact", "QEMU bit-exact", "QEMU instr/inf",
            "ROC-AUC float", "ROC-AUC int8 TFLM", "top-1 hit float", "top-1 hit int8", "guard"]
    lines = [head]
    for r in rows:
        lines.append([r["series"], f"int8 {r['arch'].upper()} {r['kind']}", str(r["window"]),
                      "yes" if r["tflm_runs"] else f"no ({r.get('reason', '')[:60]})",
                      _k_of_n(r.get("host_c_bit_exact")), _k_of_n(r.get("qemu_bit_exact")),
                      f"{r['qemu_instructions']:,}" if r.get("qemu_instructions") else "-",
                      f"{r['float_roc_auc']:.3f}", f"{r['int8_tflm_roc_auc']:.3f}" if "int8_tflm_roc_auc" in r else "-",
                      *({True: "yes", False: "no"}.get(r.get(k), "-") for k in ("float_top1_hit", "int8_tflm_top1_hit")),
                      "did not learn?" if r["guard_flagged"] else "ok"])
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    for k, line in enumerate(lines):
        print("  ".join(cell.ljust(w) for cell, w in zip(line, widths)))
        if k == 0:
            print("  ".join("-" * w for w in widths))
    for r in rows:
        if "litert_tile_vs_broadcast" in r:
            print(f"{r['series']} int8 {r['arch'].upper()} {r['kind']}: LiteRT on the converter's TILE model vs the "
                  f"BROADCAST_TO model, equal on {_k_of_n(r['litert_tile_vs_broadcast'])} test windows")


def write_json(path: Path, rows: list[dict], seconds: float) -> None:
    """The table as a results record (tools/results_record.py): numbers stay numbers, for the plot."""
    columns = ["series", "model", "window", "TFLM runs", "host C bit-exact", "QEMU bit-exact", "QEMU instr/inf",
               "ROC-AUC float", "ROC-AUC int8 TFLM", "guard"]
    table = [[r["series"], f"int8 {r['arch'].upper()} {r['kind']}", r["window"], "yes" if r["tflm_runs"] else "no",
              _k_of_n(r.get("host_c_bit_exact")), _k_of_n(r.get("qemu_bit_exact")), r.get("qemu_instructions") or "-",
              round(r["float_roc_auc"], 3), round(r["int8_tflm_roc_auc"], 3) if "int8_tflm_roc_auc" in r else "-",
              "did not learn?" if r["guard_flagged"] else "ok"] for r in rows]
    write_record(path, title="Deployable int8 anomaly models on TFLite Micro and in C", tool="tools/bench_anomaly_mcu.py",
                 command="python tools/bench_anomaly_mcu.py " + " ".join(sys.argv[1:]),
                 describes=["edgernn/optimize", "edgernn/export/codegen", "firmware/runtime"],
                 summary=f"Run time {seconds:.0f} s. The figures show deployability (bit-exact C, TFLite Micro runs "
                         "the model), not detection quality: see the guard column.",
                 tables=[{"title": "int8 anomaly models", "columns": columns, "rows": table}],
                 plots=[{"table": 0, "label": ["series", "model"], "value": "QEMU instr/inf",
                         "title": "Instructions per inference in QEMU"}])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sets", nargs="+", default=["yahoo"], help="Bundled anomaly series (`edgernn data bundled "
                                                                 "--list`).")
    ap.add_argument("--out", type=Path, default=Path("bench_anomaly_mcu"), help="Folder for data, runs, firmware.")
    ap.add_argument("--units", type=int, default=32, help="Recurrent units (one layer).")
    ap.add_argument("--random", type=int, default=100, help="Random int8 windows added to the test windows "
                                                            "for the host C comparison.")
    ap.add_argument("--qemu-vectors", type=int, default=4, help="Test windows run in QEMU firmware.")
    ap.add_argument("--board", default="mps2-an386", help="QEMU board (see `edgernn bench --help`).")
    ap.add_argument("--json", type=Path, default=None,
                    help="Also write the table as a results record, e.g. docs/results/data/anomaly-mcu.json.")
    args = ap.parse_args()
    start = time.time()
    rows = []
    for series in args.sets:
        data = args.out / "data" / f"{series}.csv"
        if not data.is_file():
            api.bundled(series, data)
        for arch, kind in MODELS:
            rows.append(one_model(series, data, args.out, arch, kind, args))
    print()
    print_table(rows)
    print(f"\nrun time {time.time() - start:.0f} s")
    if args.json:
        write_json(args.json, rows, time.time() - start)
    ok = all(r["tflm_runs"] and r["host_c_bit_exact"][0] == r["host_c_bit_exact"][1]
             and r["qemu_bit_exact"][0] == r["qemu_bit_exact"][1] for r in rows)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
