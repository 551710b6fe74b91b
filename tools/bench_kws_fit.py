"""KWS training cost on a real keyword folder: CPU-seconds and wall time of the fit alone, and whether two
runs computed the same thing.

    python tools/bench_kws_fit.py data/kws runs/bench-a [--epochs 5] [--arch gru] [--options '{"steps_per_execution": 1}']
        [--code DIR] [--same-as runs/bench-b] [--json out.json]

Trains ``edgernn train --task kws --units 64`` (default recipe, ``--epochs`` as given) through the API and
measures the fit (model.fit and what surrounds it in ``train.loop._fit``) by this process's CPU time,
apart from loading the data, evaluation and saving. ``--code DIR`` runs another checkout's ``edgernn``
package (e.g. ``git archive 42056d6 edgernn | tar -x -C DIR``) in the same environment, so a change can
be measured against its base side by side (same neighbours). ``--same-as RUN`` then checks that the
two runs' histories and weights are equal, bit for bit. Used by docs/notes/2026-12-08-demo-speed-2.md.
"""
from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def same(a: Path, b: Path) -> dict:
    import numpy as np

    from edgernn.tf import load

    _, keras = load()
    history = json.loads((a / "history.json").read_text()) == json.loads((b / "history.json").read_text())
    wa, wb = (keras.models.load_model(r / "model.keras", compile=False).get_weights() for r in (a, b))
    weights = len(wa) == len(wb) and all(np.array_equal(x, y) for x, y in zip(wa, wb))
    return {"same_history": history, "same_weights": weights}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("data", type=Path)
    p.add_argument("out", type=Path)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--arch", default="gru", choices=("gru", "lstm"))
    p.add_argument("--options", default="{}", help="JSON object of further api.train options")
    p.add_argument("--code", type=Path, help="import edgernn from this folder (another checkout)")
    p.add_argument("--same-as", type=Path, help="compare history and weights with this run")
    p.add_argument("--json", type=Path)
    a = p.parse_args()
    try:
        options = json.loads(a.options)
        assert isinstance(options, dict) and 1 <= a.epochs <= 1000
    except (ValueError, AssertionError):
        print("bench_kws_fit.py: error: --options must be a JSON object, --epochs 1..1000", file=sys.stderr)
        return 2
    if a.code is not None:
        if not (a.code / "edgernn" / "__init__.py").is_file():
            print(f"bench_kws_fit.py: error: {a.code}: no edgernn package in it", file=sys.stderr)
            return 2
        sys.path.insert(0, str(a.code.resolve()))
    else:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from edgernn import api
    from edgernn.train import loop

    measured = {}
    fit = loop._fit

    def timed_fit(*args, **kwargs):
        wall, cpu = time.perf_counter(), cpu_seconds()
        result = fit(*args, **kwargs)
        measured.update(fit_wall_s=round(time.perf_counter() - wall, 1), fit_cpu_s=round(cpu_seconds() - cpu, 1))
        return result

    loop._fit = timed_fit
    wall = time.perf_counter()
    api.train(task="kws", arch=a.arch, units=64, data=a.data, out=a.out, epochs=a.epochs, overwrite=True,
              progress=False, **options)
    result = {"code": str(a.code or "this checkout"), "arch": a.arch, "epochs": a.epochs, "options": options,
              **measured, "wall_s": round(time.perf_counter() - wall, 1), "cpu_s": round(cpu_seconds(), 1)}
    if a.same_as:
        result.update(same(a.out, a.same_as))
    print(json.dumps(result))
    if a.json:
        a.json.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
