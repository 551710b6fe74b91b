"""``edgernn eval``: accuracy (or ROC-AUC) of any artifact on a dataset's test split.

The artifact's run folder (``config.json`` beside it) says how inputs are standardized, the
classes and, for anomaly models, the threshold. Inference is batch 1, one sample at a time, on
the runtime named (Keras, LiteRT, TFLite Micro, onnxruntime), and metrics are computed by the
same functions as training, so the numbers compare directly with ``metrics.json``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from edgernn import io
from edgernn.errors import UserError
from edgernn.records import RunConfig, check_model_matches, metrics_of, read_config, write_metrics
from edgernn.runtimes import open_runtime, runtimes_for
from edgernn.train import metrics as M
from edgernn.train.run import load_data_for_run, prepare_inputs


def run_config_for(artifact: Path) -> RunConfig:
    config = artifact.parent / "config.json"
    if not config.is_file():
        raise UserError(f"{artifact}: no config.json beside it; eval needs the run folder the artifact came from "
                        "(for input standardization, classes and threshold)")
    return read_config(config)


def predict(runtime, X: np.ndarray, progress: bool = True, label: str = "") -> np.ndarray:
    from rich.markup import escape
    from rich.progress import Progress

    outs = []
    with Progress(disable=not progress, transient=True) as bar:
        task = bar.add_task(escape(f"eval {label}"), total=len(X))
        for i in range(len(X)):
            outs.append(runtime.invoke(X[i:i + 1]))
            bar.advance(task)
    return np.concatenate(outs, axis=0)


def evaluate(artifact: str | Path, data: str | Path | None = None, runtime: str | None = None,
             out: str | Path | None = None, limit: int | None = None, progress: bool = True) -> dict:
    """Metrics dict (the training metrics schema plus artifact/runtime fields); written to ``out`` if given."""
    artifact = Path(artifact)
    io.check_regular_file(artifact, "model file")
    if out is not None:
        io.check_out(out, "file", inputs=[artifact, artifact.parent / "config.json", data])
    if limit is not None and limit < 1:
        raise UserError(f"--limit must be >= 1 (the number of test samples to evaluate), got {limit}")
    config = run_config_for(artifact)
    runtime = runtime or (runtimes_for(artifact) or [None])[0]
    # data given: it only has to hold test data (the run's config.json has classes, standardization, windows)
    test = load_data_for_run(config, data, test_only=data is not None).splits["test"]
    if len(test) == 0:
        raise UserError(f"{data or config.data}: no test samples to evaluate on")
    n = len(test) if limit is None else min(limit, len(test))
    X, y = prepare_inputs(test.X[:n], config), test.y[:n]
    with open_runtime(artifact, runtime) as rt:
        check_model_matches(config, rt.input_info().shape, rt.output_info().shape, artifact)
        outputs = predict(rt, X, progress, f"{artifact.name} on {rt.name}")
    if config.task == "anomaly":
        scores = M.anomaly_scores(outputs, X, config.anomaly_model)
        metrics = M.anomaly_metrics(y, scores, config.threshold)
        metrics["notes"] = M.anomaly_notes(y)
        series = M.series_report(outputs, X, config.anomaly_model, test, scores, config.threshold)
        if series:
            metrics["events"] = series["events"]
    else:
        metrics = M.classification_metrics(y, outputs, config.class_names)
        # classes of the run with no test sample here (a test-only set holding some of the words)
        metrics["absent_classes"] = [c for c, k in zip(config.class_names, np.bincount(y, minlength=len(
            config.class_names))) if k == 0]
    metrics.update(artifact=str(artifact), runtime=runtime, data=str(data or config.data))
    record = metrics_of(metrics)  # returned and written alike: the metrics.json schema, versioned
    if out:
        write_metrics(out, record)
    return record.to_json()
