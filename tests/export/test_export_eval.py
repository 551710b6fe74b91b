"""export (ONNX, C array) and eval on every runtime."""
import json
import subprocess

import numpy as np
import pytest
from click.testing import CliRunner

from edgernn import api
from edgernn.cli import main
from edgernn.data import load_dataset
from edgernn.export.onnx import op_counts
from edgernn.runtimes.keras import KerasRuntime
from edgernn.runtimes.onnxrt import OnnxRuntime
from edgernn.train import metrics as M
from edgernn.train.run import load_config, prepare_inputs


@pytest.mark.parametrize("arch, op", [("gru", "GRU"), ("lstm", "LSTM")])
def test_onnx_uses_native_rnn_op_and_matches_keras(tiny_runs, arch, op):
    path = api.export(tiny_runs[arch], format="onnx")
    assert op in op_counts(path)
    config = load_config(tiny_runs[arch])
    X = prepare_inputs(load_dataset(config.data).splits["test"].X, config)
    diff = np.abs(OnnxRuntime(path).predict(X) - KerasRuntime(tiny_runs[arch] / "model.keras").predict(X)).max()
    assert diff <= 1e-4
    record = json.loads((tiny_runs[arch] / "export_onnx.json").read_text())["metrics"]["float"]
    assert record["within_tolerance"] and record["max_abs_diff_vs_keras"] <= 1e-4


def test_onnx_int8(tiny_runs):
    path = api.export(tiny_runs["gru"], format="onnx", int8=True)
    assert path.name == "model_int8.onnx"
    assert "MatMulInteger" in op_counts(path) or "DynamicQuantizeLinear" in op_counts(path)
    record = json.loads((tiny_runs["gru"] / "export_onnx.json").read_text())["metrics"]["int8"]
    assert record["argmax_agreement_vs_keras"] >= 0.9


def test_c_array_compiles_and_holds_the_bytes(tiny_runs, tmp_path):
    model = api.quantize(tiny_runs["gru"], mode="int8", calibration_samples=50)
    src = api.export(tiny_runs["gru"], format="c-array", out=tmp_path)
    assert src == tmp_path / "model_int8.c" and (tmp_path / "model_int8.h").is_file()
    main_c = tmp_path / "main.c"
    main_c.write_text('#include <stdio.h>\n#include "model_int8.h"\nint main(void){fwrite(model_int8,1,model_int8_len,stdout);return 0;}\n')
    subprocess.run(["gcc", "-O0", "-o", str(tmp_path / "dump"), str(main_c), str(src)], check=True)
    out = subprocess.run([str(tmp_path / "dump")], capture_output=True, check=True).stdout
    assert out == model.read_bytes()


def test_eval_matches_training_metrics(tiny_runs):
    run = tiny_runs["lstm"]
    m = api.evaluate(run / "model.keras", progress=False)
    trained = json.loads((run / "metrics.json").read_text())
    assert m["accuracy"] == pytest.approx(trained["accuracy"])
    assert m["confusion_matrix"] == trained["confusion_matrix"]


@pytest.mark.parametrize("runtime", ["litert", "tflm"])
def test_eval_int8_equals_direct_computation(tiny_runs, runtime):
    from edgernn.runtimes import open_runtime

    run = tiny_runs["gru"]
    model = api.quantize(run, mode="int8", calibration_samples=50)
    m = api.evaluate(model, runtime=runtime, progress=False, out=run / f"eval_{runtime}.json")
    config = load_config(run)
    test = load_dataset(config.data).splits["test"]
    probs = open_runtime(model, runtime).predict(prepare_inputs(test.X, config))
    assert m == json.loads((run / f"eval_{runtime}.json").read_text())
    assert m["accuracy"] == M.classification_metrics(test.y, probs, config.class_names)["accuracy"]
    assert m["runtime"] == runtime and m["samples"] == len(test)


@pytest.mark.parametrize("args, message", [
    (["export", "/no/run"], "no such run folder"),
    (["export", "{run}", "--format", "tar"], "Invalid value for '--format'"),
    (["eval", "{orphan}"], "no config.json beside it"),
    (["eval", "{run}/model.keras", "--runtime", "tflm"], "cannot load .keras files"),
    (["eval", "{badonnx}"], "onnxruntime cannot load it"),
])
def test_bad_inputs_exit_2(tiny_runs, tmp_path, args, message):
    orphan = tmp_path / "orphan.tflite"
    orphan.write_bytes(b"x" * 32)
    bad = tiny_runs["gru"] / "bad.onnx"
    bad.write_bytes(b"not onnx")
    args = [a.format(run=tiny_runs["gru"], orphan=orphan, badonnx=bad) for a in args]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 2, r.output
    assert message in r.output and "Traceback" not in r.output
