"""Trade-off benchmark (issue 4): every variant of the default models on the CPU target.

    python tools/bench_pipeline.py [--runs-dir runs] [--out bench/cpu] [--repeat 3]

Looks for the default pipeline's artifacts (float .keras, magnitude-pruned and structured
variants, int8 .tflite, float and int8 .onnx of runs/gru64 and runs/lstm64 and their -pruned /
-structured folders), makes the missing ones from the trained runs (quantize, export), and
benchmarks them all with accuracy. Prints the trade-off table (p50 with the min-max over
repeats) and writes results.json / results.csv / report.md / pareto.png to --out.
Missing runs are skipped with a note (train them with `make demo` or tools/bench_convert.py).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from edgernn import api  # noqa: E402
from edgernn.bench.report import print_table  # noqa: E402


def variants(runs_dir: Path) -> list[Path]:
    found = []
    for base in ("gru64", "lstm64"):
        for suffix in ("", "-pruned", "-structured"):
            run = runs_dir / f"{base}{suffix}"
            if not (run / "model.keras").is_file():
                print(f"note: {run} not found, skipped", file=sys.stderr)
                continue
            found.append(run / "model.keras")
            int8 = run / "model_int8.tflite"
            if not int8.is_file():
                api.quantize(run, mode="int8")
            found.append(int8)
            if suffix == "":
                if not (run / "model_int8.onnx").is_file():
                    api.export(run, format="onnx", int8=True)
                found += [run / "model.onnx", run / "model_int8.onnx"]
    return found


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs-dir", default="runs", type=Path)
    ap.add_argument("--out", default="bench/cpu", type=Path)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--runs", type=int, default=200)
    args = ap.parse_args()
    artifacts = variants(args.runs_dir)
    if not artifacts:
        print("no runs found: run `make demo` first", file=sys.stderr)
        return 2
    rows = api.bench(artifacts, target="cpu", repeats=args.repeat, runs=args.runs, out=args.out)
    print_table(rows, f"CPU trade-offs ({args.repeat} repeats; p50 min-max = spread of per-repeat medians)")
    print(f"written to {args.out}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
