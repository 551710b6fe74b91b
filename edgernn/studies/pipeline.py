"""The one chain every study runs on a design: train -> [prune] -> quantize -> evaluate -> check ->
bench on each target -> bit-exact check of the generated C against TFLite Micro.

``edgernn compare`` (``studies/compare.py``) and ``edgernn sweep`` (``studies/sweep.py``) both call
``run_pipeline`` and only turn its ``Outcome`` into their own records; neither chains the stages
itself. The chain calls stage functions, never ``edgernn.api`` (which sits above the studies).

What stops the chain and what does not:
- a ``UserError`` in training, pruning, quantization, evaluation or ``check`` stops it and is
  recorded in ``Outcome.error`` with the stage (``failed_stage``); a float metric that is not finite
  stops it before quantization (a diverged run has nothing to convert);
- a target that cannot measure the model (a runtime error row, a build error, generated C that is
  not bit-exact with TFLite Micro) fails that target only (``TargetResult.error``); the others are
  still measured. Whether that fails the whole design is the study's decision.
Other exceptions (library failures) propagate: the sweep records them per trial.
See docs/design/architecture.md.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path

from edgernn.errors import UserError
from edgernn.records import Metrics, RunConfig, read_config, read_metrics


@dataclass(frozen=True)
class Design:
    """What is built: the cell and its size, and what is done to it after training."""

    arch: str
    units: int
    layers: int = 1
    sparsity: float = 0.0  # > 0: magnitude-pruned (fine-tuned ``prune_epochs``) before quantization
    quant: str = "int8"  # int8 | float16 | dynamic
    data_options: dict | None = None  # loader options kept in the run (anomaly window / stride)


@dataclass(frozen=True)
class Settings:
    """How it is built and measured; the same for every design of a study."""

    task: str
    data: str | Path
    seed: int = 0
    epochs: int | None = None  # None: the training recipe's default
    prune_epochs: int = 2
    targets: tuple[tuple[str, str | None], ...] = (("cpu", None),)  # ("cpu", None), ("mcu", BOARD)
    cpu_runs: int = 100
    cpu_warmup: int = 10
    mcu_vectors: int = 2
    # True: the firmware's test vectors are real test inputs and the mcu row carries TFLite Micro's
    # accuracy on the test split; False: random vectors, no accuracy (faster).
    mcu_test_inputs: bool = False
    overwrite: bool = False
    progress: bool = False
    # more train() keyword arguments as (name, value) pairs, e.g. compare's AS_BEFORE_SERIES_RECIPE
    train_options: tuple[tuple[str, object], ...] = ()


@dataclass
class TargetResult:
    """One target's bench row (the schema of ``edgernn.bench.schema``), or why there is none."""

    row: dict | None = None
    error: str | None = None


@dataclass
class Outcome:
    run: Path | None = None  # the trained run folder (the pruned one when pruned)
    config: RunConfig | None = None
    metrics: Metrics | None = None
    metric: str | None = None  # "accuracy" or "roc_auc"
    float_value: float | None = None
    model: Path | None = None  # the quantized .tflite
    quantized_runtime: str | None = None  # where the quantized model is evaluated: tflm (int8) or litert
    quantized_value: float | None = None
    arena_bytes: int | None = None
    targets: dict[str, TargetResult] = field(default_factory=dict)  # "cpu", "mcu:BOARD"
    failed_stage: str | None = None  # train | prune | diverged | quantize (evaluate and check included)
    error: str | None = None
    stage_seconds: dict[str, float] = field(default_factory=dict)


def target_key(kind: str, board: str | None) -> str:
    return kind if board is None else f"{kind}:{board}"


class _Laps:
    """Seconds per stage, to see where a study's time goes."""

    def __init__(self, into: dict):
        self.into, self.last = into, time.time()

    def __call__(self, name: str) -> None:
        now = time.time()
        self.into[name] = round(now - self.last, 1)
        self.last = now


def run_pipeline(design: Design, settings: Settings, run_dir: Path) -> Outcome:
    """Take ``design`` through the chain into ``run_dir`` (the run folder; a pruned copy goes beside it)."""
    out = Outcome()
    lap = _Laps(out.stage_seconds)
    if not _train(design, settings, Path(run_dir), out, lap):
        return out
    if not _quantize_evaluate_check(design, out, lap):
        return out
    for kind, board in settings.targets:
        if kind == "mcu" and design.quant != "int8":
            continue  # the generated C runs int8 models only
        out.targets[target_key(kind, board)] = _bench_on(out.model, kind, board, settings)
        lap(f"bench_{kind}")
    return out


def _train(design: Design, settings: Settings, run_dir: Path, out: Outcome, lap) -> bool:
    from edgernn.optimize.prune import prune
    from edgernn.train.loop import train

    try:
        run = train(task=settings.task, arch=design.arch, units=design.units, layers=design.layers,
                    data=settings.data, out=run_dir, seed=settings.seed, epochs=settings.epochs or None,
                    overwrite=settings.overwrite, progress=settings.progress, data_options=design.data_options,
                    **dict(settings.train_options))
    except UserError as e:  # e.g. a loss that became NaN: a failed design, not a failed study
        out.failed_stage, out.error = "train", str(e)
        return False
    lap("train")
    if design.sparsity > 0:
        try:
            run = prune(run, sparsity=design.sparsity, epochs=settings.prune_epochs,
                        out=run_dir.with_name(f"{run_dir.name}-pruned"), overwrite=settings.overwrite)
        except UserError as e:
            out.failed_stage, out.error = "prune", str(e)
            return False
        lap("prune")
    out.run = run
    out.config = read_config(run / "config.json")
    out.metrics = read_metrics(run / "metrics.json")
    out.metric, out.float_value = out.metrics.main_metric()
    if not math.isfinite(out.float_value):
        out.failed_stage, out.error = "diverged", f"diverged: test {out.metric} is {out.float_value}"
        return False
    return True


def _quantize_evaluate_check(design: Design, out: Outcome, lap) -> bool:
    from edgernn.bench.evaluate import evaluate
    from edgernn.export.check import check
    from edgernn.optimize.quantize import quantize

    try:
        out.model = quantize(out.run, mode=design.quant)
        lap("quantize")
        # The runtime the device uses: TFLite Micro runs int8 models on microcontrollers.
        out.quantized_runtime = "tflm" if design.quant == "int8" else "litert"
        out.quantized_value = evaluate(out.model, runtime=out.quantized_runtime, progress=False)[out.metric]
        lap("evaluate")
        if design.quant == "int8":
            out.arena_bytes = check(out.model).get("arena_bytes")
            lap("check")
    except UserError as e:
        out.failed_stage, out.error = "quantize", str(e)
        return False
    return True


def _bench_on(model: Path, kind: str, board: str | None, settings: Settings) -> TargetResult:
    """One bench row of ``model`` on one target; for the MCU, only generated C bit-exact with TFLite Micro counts."""
    from edgernn.bench.harness import bench

    # Both targets go through the one bench harness; what differs is each target's own options.
    options = (dict(board=board, vectors=settings.mcu_vectors) if kind == "mcu"
               else dict(runtimes=["litert"], runs=settings.cpu_runs, warmup=settings.cpu_warmup))
    # limit 0: no accuracy pass (the study has it from evaluate); the mcu's test vectors then are random ones
    limit = None if kind == "mcu" and settings.mcu_test_inputs else 0
    try:
        row = bench([model], target=kind, repeats=1, limit=limit, progress=False, **options)[0]
    except UserError as e:
        return TargetResult(error=str(e))
    if row.get("error"):
        return TargetResult(row=row, error=row["error"])
    if not row.get("latency_ms"):
        return TargetResult(row=row, error="no latency measured")
    m = row.get("mcu")
    if m is not None and not m["bit_exact_vs_tflm"]:
        return TargetResult(row=row, error=f"the generated C differs from TFLite Micro on {m['mismatching_vectors']} "
                                           f"of {m['vectors']} test vectors on {board}")
    return TargetResult(row=row)
