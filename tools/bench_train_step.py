"""Training throughput of a KWS-shaped recurrent classifier: samples per second and per CPU-second.

    python tools/bench_train_step.py --arch gru [--unroll] [--batch-size 64] [--samples 9600] [--out r.json]

Random inputs of the default keyword window (49 frames x 10 MFCCs, 12 classes), Adam with
clipping as `train` uses; one short fit first (graph building), then two timed epochs. CPU-seconds
are this process's user + system time, so runs on a shared machine compare better by them than
by wall time (docs/notes/2026-12-07-demo-speed.md). Run the variants side by side to give them
the same neighbours.
"""
from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from edgernn.models import build_classifier  # noqa: E402
from edgernn.tf import load  # noqa: E402

STEPS, FEATURES, CLASSES = 49, 10, 12


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(arch: str, units: int, unroll: bool, batch: int, samples: int) -> dict:
    _, keras = load()
    rng = np.random.default_rng(0)
    X = rng.normal(size=(samples, STEPS, FEATURES)).astype(np.float32)
    y = rng.integers(0, CLASSES, samples)
    model = build_classifier(arch, units, 1, (STEPS, FEATURES), CLASSES, unroll=unroll)
    model.compile(optimizer=keras.optimizers.Adam(1e-3, global_clipnorm=1.0), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(X[:batch * 3], y[:batch * 3], batch_size=batch, epochs=1, verbose=0)  # graph building, not timed
    wall, cpu = time.perf_counter(), cpu_seconds()
    model.fit(X, y, batch_size=batch, epochs=2, verbose=0)
    wall, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
    return {"arch": arch, "units": units, "unroll": unroll, "batch_size": batch, "samples": 2 * samples,
            "wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "samples_per_s": round(2 * samples / wall),
            "samples_per_cpu_s": round(2 * samples / cpu)}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--arch", default="gru", choices=("gru", "lstm", "rnn"))
    p.add_argument("--units", type=int, default=64)
    p.add_argument("--unroll", action="store_true", help="unroll the recurrent layer over the 49 steps")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--samples", type=int, default=9600, help="samples per timed epoch (two are timed)")
    p.add_argument("--out", type=Path, help="also write the result as JSON here")
    a = p.parse_args()
    if not (1 <= a.units <= 1024 and 1 <= a.batch_size <= 4096 and a.batch_size * 3 <= a.samples <= 10**6):
        print("bench_train_step.py: error: --units 1..1024, --batch-size 1..4096, --samples 3 x batch .. 1e6",
              file=sys.stderr)
        return 2
    result = measure(a.arch, a.units, a.unroll, a.batch_size, a.samples)
    print(json.dumps(result))
    if a.out:
        a.out.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
