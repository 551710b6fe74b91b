"""studies/pipeline.py: the one chain compare and sweep call; what stops it and what it records."""
from __future__ import annotations

import numpy as np

from edgernn.studies.pipeline import Design, Settings, run_pipeline, target_key


def test_a_training_failure_stops_the_chain_and_is_recorded(tmp_path):
    bad = tmp_path / "bad.npz"  # labels that do not match the samples: the loader refuses it
    np.savez(bad, X=np.zeros((10, 4, 2), np.float32), y=np.zeros(3, np.int64), split=np.array(["train"] * 10))
    o = run_pipeline(Design(arch="gru", units=4), Settings(task="classify", data=bad, epochs=1), tmp_path / "run")
    assert o.failed_stage == "train" and o.error and o.run is None and o.model is None
    assert o.targets == {} and not (tmp_path / "run").exists()  # nothing measured, nothing half-written


def test_float_models_skip_the_microcontroller(tiny_data, tmp_path):
    """Only int8 runs as generated C: a float16 design is measured on the CPU alone, without an arena check."""
    settings = Settings(task="classify", data=tiny_data, epochs=2, targets=(("cpu", None), ("mcu", "mps2-an386")),
                        cpu_runs=3, cpu_warmup=1)
    o = run_pipeline(Design(arch="gru", units=4, quant="float16"), settings, tmp_path / "run")
    assert o.failed_stage is None, o.error
    assert list(o.targets) == [target_key("cpu", None)] and o.targets["cpu"].error is None
    assert o.model.name == "model_float16.tflite" and o.quantized_runtime == "litert" and o.arena_bytes is None
    assert o.targets["cpu"].row["sha256"] and o.targets["cpu"].row["latency_ms"]["p50"] > 0
    assert 0.0 <= o.quantized_value <= 1.0 and o.metric == "accuracy"
    assert set(o.stage_seconds) == {"train", "quantize", "evaluate", "bench_cpu"}
