"""``edgernn bench``: every artifact on every runtime that loads it, on one target, measured alike.

Batch 1; ``warmup`` untimed invokes, then ``runs`` timed ones (time.perf_counter_ns around
invoke only), the whole measurement repeated ``repeats`` times in fresh processes so run-to-run
noise is visible (min-max of the p50s). Accuracy comes from the same runner on the test split,
so it is the accuracy of that artifact on that runtime on that target.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import tempfile
from pathlib import Path

import numpy as np

from edgernn import io
from edgernn.bench.schema import row
from edgernn.errors import UserError
from edgernn.runtimes import RUNTIMES, runtimes_for

TARGETS = ("cpu", "rpi")
REMOTE_RUNTIMES = ("litert", "onnxrt")  # what a board can have without TensorFlow


def model_kind(path: Path) -> str:
    if path.suffix == ".tflite":
        from edgernn.tflite.info import describe

        try:
            return describe(path)["kind"]
        except UserError:
            raise
        except Exception as e:  # noqa: BLE001  (a damaged flatbuffer can fail anywhere in the object API)
            raise UserError(f"{path}: corrupt TFLite model ({type(e).__name__})") from None
    return {".onnx": "onnx", ".keras": "keras"}.get(path.suffix, "unknown")


def make_target(target: str, **options):
    if target == "cpu":
        from edgernn.targets.cpu import CpuTarget

        return CpuTarget()
    if target == "rpi":
        from edgernn.targets.rpi import RpiTarget

        if not options.get("host"):
            raise UserError("--target rpi needs --host USER@HOST")
        return RpiTarget(**{k: v for k, v in options.items() if v is not None})
    raise UserError(f"unknown target {target!r} (choose from {', '.join(TARGETS)})")


def _test_inputs(artifact: Path, data, limit: int | None, folder: Path):
    """(inputs .npy, labels, config) of the test split via the artifact's run folder; Nones without one.

    ``limit=0`` skips accuracy altogether (latency only)."""
    from edgernn.train.run import load_data_for_run, prepare_inputs

    config_file = artifact.parent / "config.json"
    if limit == 0 or not config_file.is_file():
        return None, None, None
    from edgernn.train.run import read_config

    config = read_config(config_file)
    if data is None and not Path(config["data"]).exists():
        return None, None, None
    test = load_data_for_run(config, data).splits["test"]
    n = len(test) if limit is None else min(limit, len(test))
    path = folder / f"inputs_{hashlib.sha1(str(artifact).encode()).hexdigest()[:8]}.npy"
    np.save(path, prepare_inputs(test.X[:n], config))
    return path, test.y[:n], config


def artifact_fields(artifact: Path) -> dict:
    """What every result row says about the file measured and when."""
    return {"artifact": str(artifact), "sha256": hashlib.sha256(artifact.read_bytes()).hexdigest(),
            "file_bytes": artifact.stat().st_size, "model_kind": model_kind(artifact),
            "timestamp": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "edgernn_version": io.versions().get("edgernn")}


def _accuracy(outputs: Path, X_path: Path, y, config) -> tuple[str, float]:
    from edgernn.train import metrics as M

    out = np.load(outputs)
    if config["task"] == "anomaly":
        scores = M.anomaly_scores(out, np.load(X_path), config)
        return "roc_auc", M.anomaly_metrics(y, scores, config["threshold"])["roc_auc"]
    return "accuracy", M.classification_metrics(y, out, config["class_names"])["accuracy"]


def _kernels(m: dict) -> str:
    return "Helium (MVE)" if m.get("mve_kernels") else "DSP (SMLAD)" if m["dsp_kernels"] else "reference"


def _tflm_test_accuracy(artifact: Path, data, limit, tmp: Path):
    """(metric, accuracy, basis, int8 test inputs) of TFLite Micro on the run's test split; Nones without one."""
    from edgernn.runtimes.base import quantize
    from edgernn.runtimes.tflm import TFLMRuntime

    X_path, y, config = _test_inputs(artifact, data, limit, tmp)
    if X_path is None:
        return None, None, "none: no run folder with test data next to the model", None
    X = np.load(X_path)
    ref = TFLMRuntime(artifact)
    np.save(tmp / "outputs.npy", ref.predict(X))
    metric, acc = _accuracy(tmp / "outputs.npy", X_path, y, config)
    basis = (f"TFLite Micro on the test split ({len(X)} samples); the C is bit-exact with it on the test vectors, "
             "so it has the same accuracy")
    if metric != "accuracy":  # anomaly models: the column holds the window ROC-AUC of the per-step outputs
        basis = f"{metric} (window anomaly scores) of " + basis
    info = ref.input_info()
    return metric, acc, basis, np.stack([quantize(X[i:i + 1], info) for i in range(len(X))])


def _combine(results: list[dict]) -> dict:
    """Pool the repeats: median of their p50s, worst of their tails, plus each repeat's p50."""
    ok = [r for r in results if "latency_ms" in r]
    first = dict(results[0])
    if not ok:
        return first
    p50s = [r["latency_ms"]["p50"] for r in ok]
    lat = {"p50": float(np.median(p50s)), "p90": max(r["latency_ms"]["p90"] for r in ok),
           "p99": max(r["latency_ms"]["p99"] for r in ok), "min": min(r["latency_ms"]["min"] for r in ok),
           "max": max(r["latency_ms"]["max"] for r in ok),
           "mean": float(np.mean([r["latency_ms"]["mean"] for r in ok]))}
    first.update(latency_ms=lat, p50_per_repeat_ms=p50s, p50_spread_ms=[min(p50s), max(p50s)],
                 throughput_per_s=1000.0 / lat["mean"], repeats=len(ok),
                 peak_rss_bytes=max(r["peak_rss_bytes"] for r in ok),
                 rss_runtime_import_bytes=ok[0].get("rss_before_runtime_bytes"))
    return first


def bench(artifacts, target: str = "cpu", runtimes=None, threads: int = 1, warmup: int = 20, runs: int = 200,
          repeats: int = 3, data=None, limit: int | None = None, out=None, progress: bool = True,
          **target_options) -> list[dict]:
    """Benchmark artifacts on a target; returns schema rows (and writes them to ``out`` if given)."""
    artifacts = [Path(a) for a in artifacts]
    if not artifacts:
        raise UserError("no artifacts to benchmark")
    if out is not None:
        io.check_out(out, "folder", inputs=[*artifacts, data])  # before anything is measured
    if limit is not None and limit < 0:
        raise UserError(f"--limit must be >= 0 (0: no accuracy), got {limit}")
    for a in artifacts:
        io.check_regular_file(a, "model file")
        if not runtimes_for(a):
            raise UserError(f"{a}: unknown artifact type (expected .keras, .tflite or .onnx)")
    if runtimes is not None:
        unknown = [r for r in runtimes if r not in RUNTIMES]
        if unknown:
            raise UserError(f"unknown runtime(s) {', '.join(unknown)} (choose from {', '.join(RUNTIMES)})")
    if not (1 <= threads <= 256 and 1 <= runs <= 1_000_000 and 1 <= repeats <= 100 and 0 <= warmup <= 100_000):
        raise UserError("--threads must be 1..256, --runs 1..1000000, --repeat 1..100 and --warmup 0..100000")
    tgt = make_target(target, **target_options)
    # The native C engine covers the int8 GRU graph only, so it runs when asked for by name.
    plan = [(a, r) for a in artifacts for r in runtimes_for(a)
            if (r in runtimes if runtimes is not None else r != "native")
            and (target == "cpu" or r in REMOTE_RUNTIMES)]
    if not plan:
        raise UserError("no runtime can run these artifacts on this target"
                        + ("" if target == "cpu" else f" (on {target}: {', '.join(REMOTE_RUNTIMES)})"))
    rows = []
    from rich.markup import escape
    from rich.progress import Progress

    with tempfile.TemporaryDirectory(prefix="edgernn-bench-") as tmp, \
            Progress(disable=not progress, transient=True) as bar:
        task = bar.add_task("benchmarking", total=len(plan) * repeats)
        try:
            tgt.prepare(sorted({a for a, _ in plan}))
            per_artifact = {}  # test split and input shape, prepared once for all runtimes of an artifact
            for artifact, runtime in plan:
                bar.update(task, description=escape(f"{artifact.name} on {runtime}"))
                if artifact not in per_artifact:
                    per_artifact[artifact] = (*_test_inputs(artifact, data, limit, Path(tmp)),
                                              _input_shape(artifact, runtime))
                X_path, y, config, input_shape = per_artifact[artifact]
                spec = {"artifact": str(artifact), "runtime": runtime, "threads": threads, "warmup": warmup,
                        "runs": runs, "input_shape": input_shape}
                results, metric, acc = [], None, None
                for rep in range(repeats):  # accuracy once, on the first repeat
                    result, outputs = tgt.run(spec, X_path if rep == 0 else None)
                    if outputs is not None:
                        metric, acc = _accuracy(outputs, X_path, y, config)
                    results.append(result)
                    bar.advance(task)
                    if "error" in result:
                        break
                r = _combine(results)
                r.update(tgt.describe())  # target (and board host/port)
                r.update(artifact_fields(artifact), warmup=warmup, runs=runs, metric=metric, accuracy=acc,
                         estimate=None)
                rows.append(row(r))
        finally:
            tgt.close()
    if out:
        from edgernn.bench.report import write_bench_outputs

        write_bench_outputs(rows, Path(out))
    return rows


def _input_shape(artifact: Path, runtime: str = "litert") -> list[int]:
    """Read in a child for .tflite files: a crafted model may crash LiteRT or TFLite Micro, not in this process."""
    if artifact.suffix == ".tflite":
        from edgernn.runtimes.probe import probe_tflite

        reader = "tflm" if runtime in ("tflm", "native") else "litert"
        probed = probe_tflite(artifact, reader, io.read_user_file(artifact, "TFLite model"))
        return [1, *probed["input"]["shape"][1:]]
    from edgernn.runtimes import open_runtime

    with open_runtime(artifact) as rt:
        return [1, *rt.input_info().shape[1:]]


def bench_mcu(artifacts, board: str = "mps2-an386", vectors: int = 8, timeout: float = 120, reference: bool = False,
              data=None, limit: int | None = None, out=None) -> list[dict]:
    """Microcontroller rows: each int8 .tflite as generated C in firmware under QEMU (see targets/mcu.py).

    With the artifact's run folder (config.json and its data), the test vectors are real test inputs,
    and the row carries TFLite Micro's accuracy on the test split, which the C has too where it is
    bit-exact (``accuracy_basis`` says so); rows that are not bit-exact get no accuracy."""
    from edgernn.targets.mcu import measure

    artifacts = [Path(a) for a in artifacts]
    if not artifacts:
        raise UserError("no artifacts to benchmark")
    if not 1 <= vectors <= 1000:
        raise UserError("--vectors must be 1..1000")
    if not 0 < timeout <= 24 * 3600:
        raise UserError(f"--timeout must be more than 0 and at most a day, got {timeout}")
    if out is not None:
        io.check_out(out, "folder", inputs=[*artifacts, data])  # before anything is built or measured
    for a in artifacts:
        io.check_regular_file(a, "model file")
        if a.suffix != ".tflite":
            raise UserError(f"{a}: --target mcu takes int8 .tflite models")
    rows = []
    for i, a in enumerate(artifacts):
        # firmware goes inside --out when given (one folder per artifact), else next to the model as before
        fw = Path(out) / f"firmware-{board}-{i}-{a.stem}" if out is not None else None
        with tempfile.TemporaryDirectory(prefix="edgernn-bench-mcu-") as tmp:
            metric, acc, basis, data_inputs = _tflm_test_accuracy(a, data, limit, Path(tmp))
        m = measure(a, board, vectors=vectors, timeout=timeout, reference=reference, data_inputs=data_inputs, out=fw)
        if not m["bit_exact_vs_tflm"]:
            acc, basis = None, "none: the C is not bit-exact with TFLite Micro"
        r = {**artifact_fields(a), "runtime": "native-c" + ("-reference" if reference else ""),
             "runtime_version": f"edgernn codegen, {_kernels(m)} kernels",
             "target": "mcu", "host": f"qemu {m['qemu_machine']}", "cpu_model": m["cpu"], "machine": "armv7m/v8m/v6m",
             "threads": 1, "warmup": 0, "runs": m["vectors"], "repeats": 1,
             "latency_ms": {k: m["estimated_latency_ms"] for k in ("p50", "p90", "p99", "min", "max", "mean")},
             "p50_per_repeat_ms": [m["estimated_latency_ms"]], "p50_spread_ms": [m["estimated_latency_ms"]] * 2,
             "throughput_per_s": 1000.0 / m["estimated_latency_ms"], "peak_rss_bytes": None,
             "metric": metric, "accuracy": acc, "estimate": m["estimate"]}
        rows.append(dict(row(r), mcu={**m, "accuracy_basis": basis}))
    if out:
        from edgernn.bench.report import write_bench_outputs

        write_bench_outputs(rows, Path(out))
    return rows
