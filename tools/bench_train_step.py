"""Training throughput of a KWS-shaped recurrent classifier: samples per second and per CPU-second.

    python tools/bench_train_step.py --arch gru [--unroll] [--jit-compile] [--threads N]
        [--input numpy|dataset] [--lr-callback] [--steps-per-execution K] [--batch-size 64]
        [--samples 9600] [--out r.json]

Random inputs of the default keyword window (49 frames x 10 MFCCs, 12 classes), Adam with
clipping as `train` uses; one short fit first (graph building, and XLA compilation with
``--jit-compile``: reported as ``build_wall_s`` / ``build_cpu_s``), then two timed epochs.
``--input dataset`` feeds the batches through a ``tf.data`` generator with one batch made ahead,
as ``train --task kws`` does (edgernn/train/loop.py); ``--lr-callback`` sets the learning rate before
every step from Python, as the cosine schedule of ``train`` does. ``--threads N`` gives TensorFlow N
intra-op and N inter-op threads (0: TensorFlow's default). CPU-seconds are this process's user +
system time, so runs on a shared machine compare better by them than by wall time
(docs/notes/2026-12-07-demo-speed.md, docs/notes/2026-12-08-demo-speed-2.md). Run the variants side by
side to give them the same neighbours.
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


def _inputs(tf, X, y, batch: int, kind: str):
    if kind == "numpy":
        return dict(x=X, y=y, batch_size=batch)

    def batches():
        for i in range(0, len(X), batch):
            yield X[i:i + batch], y[i:i + batch]

    signature = (tf.TensorSpec((None, STEPS, FEATURES), tf.float32), tf.TensorSpec((None,), tf.int64))
    ds = tf.data.Dataset.from_generator(batches, output_signature=signature)
    return dict(x=ds.apply(tf.data.experimental.assert_cardinality((len(X) + batch - 1) // batch)).prefetch(1))


def measure(arch: str, units: int, unroll: bool, batch: int, samples: int, jit_compile: bool = False,
            threads: int = 0, inputs: str = "numpy", lr_callback: bool = False, steps_per_execution: int = 1) -> dict:
    tf, keras = load()
    if threads:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(samples, STEPS, FEATURES)).astype(np.float32)
    y = rng.integers(0, CLASSES, samples).astype(np.int64)
    model = build_classifier(arch, units, 1, (STEPS, FEATURES), CLASSES, unroll=unroll)
    model.compile(optimizer=keras.optimizers.Adam(1e-3, global_clipnorm=1.0), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"], jit_compile=jit_compile, steps_per_execution=steps_per_execution)
    callbacks = []
    if lr_callback:
        from edgernn.train.recipe import cosine_callback

        callbacks.append(cosine_callback(keras, 1e-3, 10, 10**6))
    wall, cpu = time.perf_counter(), cpu_seconds()
    model.fit(**_inputs(tf, X[:batch * 3], y[:batch * 3], batch, inputs), epochs=1, verbose=0, callbacks=callbacks)
    build_wall, build_cpu = time.perf_counter() - wall, cpu_seconds() - cpu
    wall, cpu = time.perf_counter(), cpu_seconds()
    model.fit(**_inputs(tf, X, y, batch, inputs), epochs=2, verbose=0, callbacks=callbacks)
    wall, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
    return {"arch": arch, "units": units, "unroll": unroll, "jit_compile": jit_compile, "threads": threads,
            "input": inputs, "lr_callback": lr_callback, "steps_per_execution": steps_per_execution,
            "batch_size": batch, "samples": 2 * samples,
            "build_wall_s": round(build_wall, 2), "build_cpu_s": round(build_cpu, 2),
            "wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "samples_per_s": round(2 * samples / wall),
            "samples_per_cpu_s": round(2 * samples / cpu)}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--arch", default="gru", choices=("gru", "lstm", "rnn"))
    p.add_argument("--units", type=int, default=64)
    p.add_argument("--unroll", action="store_true", help="unroll the recurrent layer over the 49 steps")
    p.add_argument("--jit-compile", action="store_true", help="compile the training step with XLA")
    p.add_argument("--threads", type=int, default=0, help="TensorFlow intra- and inter-op threads (0: default)")
    p.add_argument("--input", default="numpy", choices=("numpy", "dataset"),
                   help="numpy arrays to fit, or a tf.data generator with prefetch(1) as train --task kws")
    p.add_argument("--lr-callback", action="store_true", help="set the learning rate from Python before every step")
    p.add_argument("--steps-per-execution", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--samples", type=int, default=9600, help="samples per timed epoch (two are timed)")
    p.add_argument("--out", type=Path, help="also write the result as JSON here")
    a = p.parse_args()
    if not (1 <= a.units <= 1024 and 1 <= a.batch_size <= 4096 and a.batch_size * 3 <= a.samples <= 10**6
            and 0 <= a.threads <= 64 and 1 <= a.steps_per_execution <= 1000):
        print("bench_train_step.py: error: --units 1..1024, --batch-size 1..4096, --samples 3 x batch .. 1e6, "
              "--threads 0..64, --steps-per-execution 1..1000", file=sys.stderr)
        return 2
    result = measure(a.arch, a.units, a.unroll, a.batch_size, a.samples, a.jit_compile, a.threads, a.input,
                     a.lr_callback, a.steps_per_execution)
    print(json.dumps(result))
    if a.out:
        a.out.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
