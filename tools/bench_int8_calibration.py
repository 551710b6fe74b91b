"""int8 accuracy against the number of calibration samples, judged on the VALIDATION split.

    python tools/bench_int8_calibration.py RUN [RUN ...] [--samples 300,1000,3000]

For each classification or keyword run and each N: ``edgernn quantize RUN --mode int8
--calibration-samples N`` into a scratch folder (the run folder is not touched), then the accuracy
of that int8 model on TFLite Micro over the run's validation split, beside the float model's on
the same clips. Calibration clips come from the training split, so no figure here has seen the
validation or test data. One row per run and N; the default of ``quantize`` is 300.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def accuracy(model: Path, runtime: str, X: np.ndarray, y: np.ndarray) -> float:
    from edgernn.bench.evaluate import predict
    from edgernn.runtimes import open_runtime

    with open_runtime(model, runtime) as rt:
        return float((predict(rt, X, progress=False).argmax(-1) == y).mean())


def study(run: Path, samples: list[int]) -> list[dict]:
    from edgernn import api
    from edgernn.records import read_config
    from edgernn.train.run import load_data_for_run, prepare_inputs

    config = read_config(run / "config.json")
    if config.task not in ("kws", "classify"):
        raise SystemExit(f"{run}: a {config.task} run; this study scores class accuracy")
    val = load_data_for_run(config).splits["val"]
    X, y = prepare_inputs(val.X, config), val.y
    rows = [{"run": str(run), "calibration_samples": "float", "val_accuracy": accuracy(run / "model.keras", "keras", X, y),
             "val_samples": len(y)}]
    with tempfile.TemporaryDirectory() as tmp:
        for n in samples:
            model = api.quantize(run, mode="int8", calibration_samples=n, out=Path(tmp) / f"int8-{n}.tflite")
            rows.append({"run": str(run), "calibration_samples": n, "val_accuracy": accuracy(Path(model), "tflm", X, y),
                         "val_samples": len(y)})
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("runs", nargs="+", type=Path, help="run folders (edgernn train --out)")
    ap.add_argument("--samples", default="300,1000,3000", help="comma-separated calibration sample counts")
    args = ap.parse_args(argv)
    samples = [int(s) for s in args.samples.split(",") if s.strip()]
    print(f"{'run':<40} {'calibration':>11} {'val accuracy':>13} {'val clips':>9}")
    for run in args.runs:
        for r in study(run, samples):
            print(f"{r['run']:<40} {str(r['calibration_samples']):>11} {r['val_accuracy']:>13.2%} {r['val_samples']:>9}",
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
