"""Cell comparison benchmark (issue 12): `edgernn compare` with GRU, LSTM and vanilla RNN on the
built-in keyword data and on real datasets bundled inside a Python wheel (sktime).

    python tools/bench_compare.py [--kws data/kws] [--real ItalyPowerDemand,BasicMotions,GunPoint]
                                  [--out bench/compare] [--kws-seeds 3] [--real-seeds 3] ...
    python tools/bench_compare.py --kws "" --real ItalyPowerDemand --prune-sparsities 0.5,0.75,0.9 \
                                  --seq-lens 50,200 --out bench/compare-prune   # pruning + memory study

Real datasets are written with `edgernn.data.bundled.write_bundled` (the `edgernn data bundled`
command; needs the `real` extra), or pass `--real PATH.npz` for any classification npz. Each
comparison writes DIR/report.md; this script prints every report (recommendation, failed runs,
the per-cell table, the paired differences, the int8 drop per cell, pruning sensitivity and the
sequence-length study). The settings are the defaults below, chosen to finish on a 2-core machine;
state them with the figures.

    python tools/bench_compare.py --json docs/results/data/compare-cells.json   # the results page

--json writes a results record (tools/results_record.py): per data set the int8 accuracy on TFLite
Micro of every cell (mean ± std over the successful seeds), the recommendation, and the int8 drop
per cell with the paired per-seed comparison of the drops (which cell takes int8 better). A keyword
folder outside this checkout (e.g. a read-only copy made by `make demo`) is shown in the record's
command as data/kws, the folder `make demo` and this script synthesize (the same seeded bytes); the
--out and --json folders are not shown (they do not change the figures).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # results_record, beside this script

from results_record import command_line, write_record  # noqa: E402

from edgernn import api, io  # noqa: E402


def real_data(spec: str, folder: Path) -> Path:
    if spec.endswith(".npz"):
        return Path(spec)
    from edgernn.data.bundled import write_bundled

    out = folder / f"{spec}.npz"
    return out if out.is_file() else write_bundled(spec, out)


TITLE = "GRU vs LSTM vs vanilla RNN"
DESCRIBES = ["edgernn/studies/compare.py", "edgernn/studies/compare_stats.py", "edgernn/studies/pipeline.py",
             "edgernn/models", "edgernn/train", "edgernn/optimize"]


def _pct(s: dict | None, key: str) -> float | str:
    return "n/a" if not s else round(100 * s[key], 2)


def _interval(v) -> str:
    return "n/a" if not v else f"[{v[0]:+.2f}, {v[1]:+.2f}]"


def _points(v) -> float | str:
    return "n/a" if v is None else round(v, 2)


def record_tables(results: list[tuple[str, dict]]) -> tuple[list[dict], list[dict]]:
    """The record's tables and plots from ``(label, comparison.json)`` per data set (label: e.g.
    "built-in keywords (3,680 test clips)")."""
    from edgernn.studies import compare_stats as S

    acc, recs, drops, pairs = [], [], [], []
    for label, r in results:
        units = r["budget_match"]["units"]
        for c in r["cells"]:
            s = r["summary"].get(c, {})
            failed = s.get("failed", r["seeds"])
            ok = r["seeds"] - failed
            acc.append([label, c.upper(), units[c], f"{ok} / {failed}",
                        "n/a" if not s.get("float") else f"{100 * s['float']['mean']:.2f} ± {100 * s['float']['std']:.2f}",
                        _pct(s.get("int8"), "mean") if ok else f"all {failed} seeds failed", _pct(s.get("int8"), "std")])
        rec = r["recommendation"]
        paired = "; ".join(f"{p['first'].upper()} - {p['second'].upper()} {p['median']:+.2f} pt "
                           f"{_interval(p['interval'])}" if p["median"] is not None else
                           f"{p['first'].upper()} - {p['second'].upper()} n/a" for p in rec.get("pairs", {}).values())
        recs.append([label, rec["text"], rec.get("basis") or "n/a", paired or "n/a"])
        d = r.get("int8_drops") or S.int8_drops(r["models"], r["cells"])
        for c in r["cells"]:
            x = d["cells"].get(c) or {"n": 0, "drops": [], "median": None, "interval": None}
            drops.append([label, c.upper(), x["n"], ", ".join(f"{v:+.2f}" for v in x["drops"]) or "n/a",
                          _points(x["median"]), _interval(x["interval"])])
        for p in d["pairs"].values():
            pairs.append([label, f"{p['first'].upper()} - {p['second'].upper()}", p["n"],
                          ", ".join(f"{v:+.2f}" for v in p.get("differences", [])) or "n/a", _points(p["median"]),
                          _interval(p["interval"]), S.int8_drop_word(p) if p["n"] else "no paired seeds"])
    conf = f"{100 * S.CONFIDENCE:.0f}%"
    tables = [
        {"title": "int8 accuracy (%) on TFLite Micro, mean ± std over the successful seeds",
         "columns": ["data (test clips)", "cell", "units", "successful / failed seeds", "float % (mean ± std)",
                     "int8 %", "int8 std"], "rows": acc},
        {"title": "Recommendation (paired per-seed accuracy differences, points: median and "
                  f"{conf} bootstrap interval of the median)",
         "columns": ["data (test clips)", "recommendation", "basis", "paired differences"], "rows": recs},
        {"title": f"int8 drop per cell (float - int8 on TFLite Micro, points; median and {conf} bootstrap interval)",
         "columns": ["data (test clips)", "cell", "seeds", "drops", "median", "interval"], "rows": drops},
        {"title": "Which cell takes int8 better: drop - drop, paired by seed (points; negative: the first drops less)",
         "columns": ["data (test clips)", "pair", "seeds", "differences", "median", "interval", "verdict"],
         "rows": pairs}]
    plots = [{"table": 0, "label": ["data (test clips)", "cell"], "value": "int8 %",
              "title": "int8 accuracy (%) on TFLite Micro, mean over seeds"},
             {"table": 2, "label": ["data (test clips)", "cell"], "value": "median",
              "title": "int8 drop (points), median over seeds"}]
    return tables, plots


def record_command(argv: list[str]) -> str:
    """The command as anyone reruns it: a keyword folder outside this checkout shown as data/kws (the
    folder `make demo` synthesizes, the same seeded bytes), --out and --json left out (neither changes a
    figure), other paths as results_record.command_line shows them."""
    root = Path(__file__).resolve().parents[1]
    shown, it = [], iter(argv)
    for a in it:
        name, eq, value = a.partition("=")
        if name in ("--out", "--json"):
            if not eq:
                next(it, None)
            continue
        if name == "--kws":
            value = value if eq else next(it, "")
            path = Path(value).resolve() if value else None
            if path is not None and path != root and root not in path.parents:
                value = "data/kws"
            shown += ["--kws", value]
            continue
        shown.append(a)
    return command_line("tools/bench_compare.py", shown)


def write_json(path: Path, argv: list[str], results: list[tuple[str, dict]], settings: str, cpu_seconds: float,
               wall_seconds: float) -> dict:
    from edgernn.studies import compare_stats as S

    tables, plots = record_tables(results)
    summary = (f"`edgernn compare` ({settings}), targets cpu; int8 accuracy on TFLite Micro. Failed runs (near "
               "chance, training guard, NaN) are left out of every statistic and counted. The recommendation "
               "and the int8-drop verdicts use paired per-seed differences (edgernn/studies/compare_stats.py): "
               f"a cell is clearly better with >= {S.MIN_PAIRS} paired seeds, an interval excluding 0 and a median "
               f">= {S.MIN_EFFECT_POINTS} pt; a tie when the interval is inside ±{S.EQUIVALENCE_POINTS} pt. Whole "
               f"run: {cpu_seconds / 60:.0f} CPU-minutes (this process and its children), {wall_seconds / 60:.0f} "
               "minutes wall time on a shared machine.")
    return write_record(path, title=TITLE, tool="tools/bench_compare.py", command=record_command(argv),
                        describes=DESCRIBES, tables=tables, plots=plots, summary=summary)


def main(argv=None) -> int:
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
    ap.add_argument("--json", type=Path, help="also write a results record (docs/results/data/compare-cells.json) here")
    args = ap.parse_args(argv)
    if args.rereport:
        from edgernn.studies.compare import rewrite_report

        for folder in map(rewrite_report, args.rereport):
            print(f"\n==== {folder}/report.md (verdict recomputed) ====\n")
            print((folder / "report.md").read_text())
        return 0
    out = Path(args.out)
    cpu0, wall0 = _cpu_seconds(), time.perf_counter()
    jobs = []
    if args.kws:
        api.synth_kws(args.kws, skip_existing=True)
        jobs.append(("kws", args.kws, "kws", dict(seeds=args.kws_seeds, epochs=args.kws_epochs)))
    for i, spec in enumerate(s for s in args.real.split(",") if s.strip()):
        data = real_data(spec.strip(), out / "data")
        jobs.append((Path(spec).stem, data, "classify",
                     dict(seeds=args.real_seeds, seq_lens=args.seq_lens if i == 0 else None, seq_samples=2000,
                          seq_epochs=15)))
    results = []
    for name, data, task, kw in jobs:
        kw.setdefault("seq_lens", None)
        folder = api.compare(data, task=task, cells=args.cells, targets="cpu", prune_sparsities=args.prune_sparsities,
                             prune_epochs=args.prune_epochs, out=out / name, overwrite=True, progress=False, **kw)
        print(f"\n==== {name}: {folder}/report.md ====\n")
        print((folder / "report.md").read_text())
        test = len(api.load_data(data, task=task).splits["test"].y)
        label = "built-in keywords" if task == "kws" else name
        results.append((f"{label} ({test:,} test clips)", io.read_json(folder / "comparison.json")))
    cpu, wall = _cpu_seconds() - cpu0, time.perf_counter() - wall0
    print(f"CPU seconds (this process and its children): {cpu:.0f}; wall seconds: {wall:.0f}")
    if args.json:
        from edgernn import defaults as D

        settings = (f"--cells {args.cells} --budget {D.COMPARE_BUDGET} --units {D.COMPARE_UNITS}; keyword data {args.kws_seeds} seeds, "
                    f"--epochs {args.kws_epochs}; real sets {args.real_seeds} seeds, the default epochs")
        write_json(args.json, sys.argv[1:] if argv is None else argv, results, settings, cpu, wall)
        print(f"wrote {args.json}")
    return 0


def _cpu_seconds() -> float:
    """User + system CPU seconds of this process and its finished children (trainings run in children)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


if __name__ == "__main__":
    sys.exit(main())
