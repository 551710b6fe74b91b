"""Cell comparison benchmark (issue 12): `edgernn compare` with GRU, LSTM and vanilla RNN on the
built-in keyword data and on real datasets bundled inside a Python wheel (sktime).

    python tools/bench_compare.py [--kws data/kws] [--real ItalyPowerDemand,BasicMotions,GunPoint]
                                  [--out bench/compare] [--kws-seeds 3] [--real-seeds 3] ...
    python tools/bench_compare.py --kws "" --real ItalyPowerDemand --prune-sparsities 0.5,0.75,0.9 \
                                  --seq-lens 50,200 --out bench/compare-prune   # pruning + memory study

Real datasets are written with `edgernn.data.bundled.write_bundled` (the `edgernn data bundled`
command; needs the `real` extra), or pass `--real PATH.npz` for any classification npz. Each
comparison writes DIR/report.md; this script prints every report (recommendation, failed runs,
the per-cell table, the paired differences, pruning sensitivity and the sequence-length study).
The settings are the defaults below, chosen to finish on a 2-core machine; state them with the
figures.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from edgernn import api  # noqa: E402


def real_data(spec: str, folder: Path) -> Path:
    if spec.endswith(".npz"):
        return Path(spec)
    from edgernn.data.bundled import write_bundled

    out = folder / f"{spec}.npz"
    return out if out.is_file() else write_bundled(spec, out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kws", default="data/kws", help="keyword data folder (empty: skip)")
    ap.add_argument("--real", default="ItalyPowerDemand,BasicMotions,GunPoint",
                    help="bundled dataset names or .npz paths, comma-separated (empty: skip)")
    ap.add_argument("--out", default="bench/compare")
    ap.add_argument("--cells", default="gru,lstm,rnn")
    ap.add_argument("--kws-seeds", type=int, default=3)
    ap.add_argument("--kws-epochs", type=int, default=20)
    ap.add_argument("--real-seeds", type=int, default=3)
    ap.add_argument("--prune-sparsities", default="", help="pruning sensitivity (e.g. 0.5,0.75,0.9; empty: skip)")
    ap.add_argument("--prune-epochs", type=int, default=20)
    ap.add_argument("--seq-lens", default="", help="sequence-length study (e.g. 50,200), run once (with the first real set)")
    ap.add_argument("--rereport", nargs="+", metavar="DIR",
                    help="only recompute the verdict and report.md of these comparison folders from their "
                         "comparison.json (after a change to the statistics; nothing is re-measured)")
    args = ap.parse_args()
    if args.rereport:
        from edgernn.studies.compare import rewrite_report

        for folder in map(rewrite_report, args.rereport):
            print(f"\n==== {folder}/report.md (verdict recomputed) ====\n")
            print((folder / "report.md").read_text())
        return 0
    out = Path(args.out)
    jobs = []
    if args.kws:
        api.synth_kws(args.kws, skip_existing=True)
        jobs.append(("kws", args.kws, "kws", dict(seeds=args.kws_seeds, epochs=args.kws_epochs)))
    for i, spec in enumerate(s for s in args.real.split(",") if s.strip()):
        data = real_data(spec.strip(), out / "data")
        jobs.append((Path(spec).stem, data, "classify",
                     dict(seeds=args.real_seeds, seq_lens=args.seq_lens if i == 0 else None, seq_samples=2000,
                          seq_epochs=15)))
    for name, data, task, kw in jobs:
        kw.setdefault("seq_lens", None)
        folder = api.compare(data, task=task, cells=args.cells, targets="cpu", prune_sparsities=args.prune_sparsities,
                             prune_epochs=args.prune_epochs, out=out / name, overwrite=True, progress=False, **kw)
        print(f"\n==== {name}: {folder}/report.md ====\n")
        print((folder / "report.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
