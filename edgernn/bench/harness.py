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

from edgernn import defaults as D
from edgernn import io
from edgernn.bench.schema import row
from edgernn.errors import UserError
from edgernn.records import check_model_input, check_model_output, read_config
from edgernn.runtimes import RUNTIMES

TARGETS = ("cpu", "rpi", "mcu")


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


def make_target(target: str, out=None, **options):
    """The ``Target`` that measures on ``target``; ``options`` are that target's own (rpi: host...; mcu: board...)."""
    if target == "cpu":
        from edgernn.targets.cpu import CpuTarget

        return CpuTarget(**options)
    if target == "rpi":
        from edgernn.targets.rpi import RpiTarget

        if not options.get("host"):
            raise UserError("--target rpi needs --host USER@HOST")
        return RpiTarget(**{k: v for k, v in options.items() if v is not None})
    if target == "mcu":
        from edgernn.targets.mcu_target import McuTarget

        return McuTarget(out=out, **options)  # firmware goes inside --out when given
    raise UserError(f"unknown target {target!r} (choose from {', '.join(TARGETS)})")


def _test_inputs(artifact: Path, data, limit: int | None, folder: Path):
    """(inputs .npy, labels, config) of the test split via the artifact's run folder; Nones without one.

    ``limit=0`` skips accuracy altogether (latency only)."""
    from edgernn.train.run import load_data_for_run, prepare_inputs

    config_file = artifact.parent / "config.json"
    if limit == 0 or not config_file.is_file():
        return None, None, None
    config = read_config(config_file)
    if data is None and not Path(config.data).exists():
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
    if config.task == "anomaly":
        scores = M.anomaly_scores(out, np.load(X_path), config.anomaly_model)
        return "roc_auc", M.anomaly_metrics(y, scores, config.threshold)["roc_auc"]
    return "accuracy", M.classification_metrics(y, out, config.class_names)["accuracy"]


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
                 throughput_per_s=1000.0 / lat["mean"] if lat["mean"] else None, repeats=len(ok),
                 peak_rss_bytes=max(r["peak_rss_bytes"] for r in ok),
                 rss_runtime_import_bytes=ok[0].get("rss_before_runtime_bytes"))
    return first


def bench(artifacts, target: str = D.BENCH_TARGET, runtimes=None, threads: int = D.BENCH_THREADS,
          warmup: int = D.BENCH_WARMUP, runs: int = D.BENCH_RUNS,
          repeats: int = D.BENCH_REPEATS, data=None, limit: int | None = None, out=None, progress: bool = True,
          **target_options) -> list[dict]:
    """Benchmark artifacts on a target (cpu | rpi | mcu); returns schema rows (and writes them to ``out`` if given).

    One code path for every target (``targets/base.Target``): plan, prepare, run each spec (the test
    inputs on the first repeat, for accuracy), one schema row per (artifact, runtime)."""
    artifacts = [Path(a) for a in artifacts]
    if not artifacts:
        raise UserError("no artifacts to benchmark")
    if out is not None:
        io.check_out(out, "folder", inputs=[*artifacts, data])  # before anything is measured
    if limit is not None and limit < 0:
        raise UserError(f"--limit must be >= 0 (0: no accuracy), got {limit}")
    if runtimes is not None:
        unknown = [r for r in runtimes if r not in RUNTIMES]
        if unknown:
            raise UserError(f"unknown runtime(s) {', '.join(unknown)} (choose from {', '.join(RUNTIMES)})")
    if not (1 <= threads <= 256 and 1 <= runs <= 1_000_000 and 1 <= repeats <= 100 and 0 <= warmup <= 100_000):
        raise UserError("--threads must be 1..256, --runs 1..1000000, --repeat 1..100 and --warmup 0..100000")
    tgt = make_target(target, out=out, **target_options)
    try:
        plan = tgt.plan(artifacts, runtimes)
        rows = _measure(tgt, plan, threads, warmup, runs, repeats if tgt.repeats_matter else 1, data, limit, progress)
    finally:
        tgt.close()
    if out:
        from edgernn.bench.report import write_bench_outputs

        write_bench_outputs(rows, Path(out))
    return rows


def _measure(tgt, plan, threads, warmup, runs, repeats, data, limit, progress) -> list[dict]:
    from rich.markup import escape
    from rich.progress import Progress

    rows = []
    with tempfile.TemporaryDirectory(prefix="edgernn-bench-") as tmp, \
            Progress(disable=not progress, transient=True) as bar:
        task = bar.add_task("benchmarking", total=len(plan) * repeats)
        tgt.prepare(list(dict.fromkeys(a for a, _ in plan)))
        tests = {}  # the test split, prepared once per artifact for all its runtimes
        for artifact, runtime in plan:
            bar.update(task, description=escape(f"{artifact.name} on {runtime}"))
            if artifact not in tests:
                tests[artifact] = _test_inputs(artifact, data, limit if tgt.takes_inputs else 0, Path(tmp))
            X_path, y, config = tests[artifact]
            spec = {"artifact": str(artifact), "runtime": runtime, "threads": threads, "warmup": warmup,
                    "runs": runs, **tgt.spec(artifact, runtime)}
            if config is not None and "input_shape" in spec:
                check_model_input(config, spec["input_shape"], artifact)
            results, metric, acc = [], None, None
            for rep in range(repeats):  # accuracy once, on the first repeat
                result, outputs = tgt.run(spec, X_path if rep == 0 else None)
                if outputs is not None:
                    check_model_output(config, np.load(outputs).shape, artifact)
                    metric, acc = _accuracy(outputs, X_path, y, config)
                results.append(result)
                bar.advance(task)
                if "error" in result:
                    break
            r = {"warmup": warmup, "runs": runs, "estimate": None, "runtime": runtime, **_combine(results)}
            r.update(tgt.describe())  # target (and board host/port)
            r.update(artifact_fields(tgt.measured_file(artifact)), metric=metric, accuracy=acc)
            rows.append(dict(row(r), **({"mcu": r["mcu"]} if "mcu" in r else {})))
    return rows
