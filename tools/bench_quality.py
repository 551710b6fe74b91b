"""Quality benchmark (issue 2): train the default models and print their test figures.

    python tools/bench_quality.py [--kws data/kws] [--anomaly data/anomaly] [--out runs/quality]

Synthesizes the built-in datasets if missing, trains GRU-64 and LSTM-64 on keywords and a
GRU-32 next-step predictor on the anomaly data, and prints each figure against its target
(KWS test accuracy >= 95%, anomaly ROC-AUC >= 0.95). Exit status 1 if a target is missed.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from edgernn import api  # noqa: E402

TARGETS = {"kws": ("accuracy", 0.95), "anomaly": ("roc_auc", 0.95)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kws", default="data/kws")
    ap.add_argument("--anomaly", default="data/anomaly")
    ap.add_argument("--out", default="runs/quality")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    api.synth_kws(args.kws, skip_existing=True)
    if not Path(args.anomaly, "test.csv").is_file():
        api.synth_anomaly(args.anomaly)
    jobs = [("kws", "gru", 64, args.kws, {}), ("kws", "lstm", 64, args.kws, {}),
            ("anomaly", "gru", 32, args.anomaly, {"anomaly_model": "predictor"})]
    rows, ok = [], True
    for task, arch, units, data, extra in jobs:
        out = Path(args.out) / f"{task}-{arch}{units}"
        start = time.perf_counter()
        api.train(task=task, arch=arch, units=units, data=data, out=out, seed=args.seed, overwrite=True, **extra)
        seconds = time.perf_counter() - start
        metrics = json.loads((out / "metrics.json").read_text())
        name, target = TARGETS[task]
        passed = metrics[name] >= target
        ok &= passed
        rows.append((task, f"{arch.upper()}-{units}", name, metrics[name], target, passed, seconds, metrics["samples"]))
    print(f"{'task':8} {'model':9} {'metric':9} {'value':>7} {'target':>7} {'ok':>4} {'seconds':>8} {'test n':>7}")
    for task, model, name, value, target, passed, seconds, n in rows:
        print(f"{task:8} {model:9} {name:9} {value:7.4f} {target:7.2f} {'yes' if passed else 'NO':>4} {seconds:8.1f} {n:7d}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
