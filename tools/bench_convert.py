"""Conversion benchmark (issue 3): int8 size and accuracy, TFLite Micro arena, ONNX parity, pruning.

    python tools/bench_convert.py [--runs runs/gru64 runs/lstm64] [--data data/kws]

Trains the runs on the built-in keyword data first if they do not exist (as `make demo` does).
For each run it prints: float (Keras) test accuracy; int8 .tflite bytes, ops and test accuracy on
LiteRT and on TFLite Micro; the smallest TFLite Micro arena (measured); float ONNX max |diff| vs
Keras; then 75% magnitude pruning and structured pruning to half the units (accuracy, sizes).
Targets: int8 within 1.0 point of float, int8 LSTM <= 30 KB, int8 GRU <= 40 KB, ONNX <= 1e-4,
75% pruning loses <= 1.5 points. Exit status 1 if any target is missed.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from edgernn import api  # noqa: E402

SIZE_TARGET = {"gru": 40 * 1024, "lstm": 30 * 1024, "rnn": 40 * 1024}


def ensure_run(run: Path, data: str) -> None:
    if not (run / "metrics.json").is_file():
        arch = next((a for a in ("lstm", "rnn") if a in run.name), "gru")
        api.synth_kws(data, skip_existing=True)
        api.train(task="kws", arch=arch, units=64, data=data, out=run, overwrite=True)


def measure(run: Path) -> dict:
    from edgernn.records import read_config

    r = {"run": str(run), "arch": read_config(run / "config.json").arch}
    r["float_acc"] = api.evaluate(run / "model.keras", progress=False)["accuracy"]
    int8 = api.quantize(run, mode="int8")
    r["int8_bytes"] = int8.stat().st_size
    r["int8_acc_litert"] = api.evaluate(int8, runtime="litert", progress=False)["accuracy"]
    r["int8_acc_tflm"] = api.evaluate(int8, runtime="tflm", progress=False)["accuracy"]
    chk = api.check(int8)
    r["tflm_runs"], r["tflm_arena"] = chk["runs"], chk.get("arena_bytes")
    r["ops"] = ", ".join(chk["ops"])
    api.export(run, format="onnx")
    r["onnx_diff"] = json.loads((run / "export_onnx.json").read_text())["metrics"]["float"]["max_abs_diff_vs_keras"]
    for kind, structured, sparsity in (("magnitude75", False, 0.75), ("structured50", True, 0.5)):
        t = time.perf_counter()
        out = api.prune(run, sparsity=sparsity, structured=structured, overwrite=True)
        p = json.loads((out / "prune.json").read_text())["metrics"]
        r[kind] = {"acc": p["after"]["metric"], "drop_points": -p["metric_change_points"],
                   "float32_bytes": p["after"]["float32_bytes"], "gzip_bytes": p["after"]["float32_gzip_bytes"],
                   "units": p["units"][1], "seconds": round(time.perf_counter() - t, 1)}
    return r


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", nargs="+", default=["runs/gru64", "runs/lstm64"])
    ap.add_argument("--data", default="data/kws")
    args = ap.parse_args()
    ok = True
    results = []
    for run in map(Path, args.runs):
        ensure_run(run, args.data)
        results.append(measure(run))
    for r in results:
        drop = 100 * (r["float_acc"] - min(r["int8_acc_litert"], r["int8_acc_tflm"]))
        checks = {
            "int8 drop <= 1.0 pt": drop <= 1.0,
            f"int8 size <= {SIZE_TARGET[r['arch']] // 1024} KB": r["int8_bytes"] <= SIZE_TARGET[r["arch"]],
            "runs on TFLite Micro": r["tflm_runs"],
            "ONNX |diff| <= 1e-4": r["onnx_diff"] <= 1e-4,
            "75% pruning drop <= 1.5 pt": r["magnitude75"]["drop_points"] <= 1.5,
        }
        ok &= all(checks.values())
        print(f"\n== {r['run']} ({r['arch'].upper()}) ==")
        print(f"float (Keras) test accuracy     {r['float_acc']:.4f}")
        print(f"int8 .tflite                    {r['int8_bytes']} bytes ({r['int8_bytes'] / 1024:.1f} KB); ops: {r['ops']}")
        print(f"int8 accuracy LiteRT / TFLM     {r['int8_acc_litert']:.4f} / {r['int8_acc_tflm']:.4f} (drop {drop:.2f} pt)")
        print(f"TFLite Micro arena (measured)   {r['tflm_arena']} bytes")
        print(f"ONNX float max |diff| vs Keras  {r['onnx_diff']:.2e}")
        for kind in ("magnitude75", "structured50"):
            p = r[kind]
            print(f"prune {kind:13}             acc {p['acc']:.4f} (drop {p['drop_points']:.2f} pt), units {p['units']}, "
                  f"float32 {p['float32_bytes']} B, gzip {p['gzip_bytes']} B, {p['seconds']} s")
        for name, passed in checks.items():
            print(f"  [{'ok' if passed else 'MISSED'}] {name}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
