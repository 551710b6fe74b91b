"""--arch rnn (vanilla tanh RNN) end to end: model, int8 graph, TFLite Micro, C, firmware, ONNX, prune."""
import json

import numpy as np
import pytest
from click.testing import CliRunner

from edgernn import api
from edgernn.cli import main
from edgernn.data import load_dataset
from edgernn.optimize import rnn_int8
from edgernn.tflite.info import describe
from edgernn.records import Architecture
from edgernn.models import build_classifier, count_macs, count_params
from edgernn.runtimes.base import quantize
from edgernn.runtimes.keras import KerasRuntime
from edgernn.runtimes.native import NativeRuntime
from edgernn.runtimes.tflm import TFLMRuntime
from edgernn.targets import mcu
from edgernn.train.run import load_config, prepare_inputs


@pytest.fixture(scope="module")
def rnn_run(tiny_data, tmp_path_factory):
    """A 2-layer RNN: exercises the second layer's input projection inside the loop body."""
    return api.train(task="classify", arch="rnn", units=8, layers=2, data=tiny_data, epochs=20, batch_size=16, lr=1e-2,
                     out=tmp_path_factory.mktemp("rnn") / "rnn8", progress=False)


@pytest.fixture(scope="module")
def rnn_int8_model(rnn_run):
    return api.quantize(rnn_run, mode="int8", calibration_samples=60)


def _test_inputs(run):
    config = load_config(run)
    return prepare_inputs(load_dataset(config.data).splits["test"].X, config), config


@pytest.mark.parametrize("layers", [1, 2])
def test_param_and_mac_formulas_match_keras(layers):
    config = Architecture(task="kws", arch="rnn", units=24, layers=layers, input_shape=[49, 10],
                          class_names=list("abcdefghijkl"))
    assert build_classifier("rnn", 24, layers, (49, 10), 12).count_params() == count_params(config)
    first = 24 * (10 + 24)
    assert count_macs(config) == 49 * (first + (layers - 1) * 24 * 48) + 24 * 12


def test_rnn_learns_and_the_cli_accepts_it(rnn_run):
    assert load_config(rnn_run).arch == "rnn"
    assert json.loads((rnn_run / "metrics.json").read_text())["accuracy"] >= 0.9  # the tiny task is easy
    assert "rnn" in CliRunner().invoke(main, ["train", "--help"]).output


def test_float_reference_of_the_int8_graph_equals_keras(rnn_run):
    X, _ = _test_inputs(rnn_run)
    model = KerasRuntime(rnn_run / "model.keras").model
    probs, ranges = rnn_int8.float_reference(X.astype(np.float64), rnn_int8.rnn_weights(model))
    np.testing.assert_allclose(probs, model.predict(X, verbose=0), atol=1e-5)
    assert {"input", "xp0", "hp0", "a0", "xp1", "hp1", "a1", "logits"} == set(ranges)


def test_int8_graph_is_compact_and_runs_on_tflm(rnn_run, rnn_int8_model):
    info = describe(rnn_int8_model)
    assert info["kind"] == "int8" and info["subgraphs"] == 3
    # per layer: input FC + recurrent FC, ADD, TANH; plus the head FC, the step ADD, GATHER, LESS, ...
    assert info["ops"] == {"ADD": 3, "FULLY_CONNECTED": 5, "GATHER": 1, "LESS": 1, "RESHAPE": 1, "SOFTMAX": 1,
                           "TANH": 2, "WHILE": 1}
    weights = sum(w.size for w in KerasRuntime(rnn_run / "model.keras").model.get_weights())
    assert info["file_bytes"] < weights * 4 + 8192  # int8 weights, int32 biases and a fixed overhead
    record = json.loads((rnn_run / "quantize_int8.json").read_text())
    assert "RNN graph" in record["outputs"]["method"] and record["metrics"]["argmax_agreement_vs_keras"] >= 0.95
    acc = api.evaluate(rnn_int8_model, runtime="tflm", progress=False)["accuracy"]
    assert acc >= json.loads((rnn_run / "metrics.json").read_text())["accuracy"] - 0.05
    assert api.check(rnn_int8_model)["runs"]


def test_generated_c_is_bit_exact_with_tflm(rnn_run, rnn_int8_model):
    native, ref = NativeRuntime(rnn_int8_model), TFLMRuntime(rnn_int8_model)
    info = ref.input_info()
    rng = np.random.default_rng(1)
    X, _ = _test_inputs(rnn_run)
    inputs = [rng.integers(-128, 128, size=info.shape).astype(np.int8) for _ in range(60)]
    inputs += [quantize(X[i:i + 1], info) for i in range(len(X))]
    for x in inputs:
        np.testing.assert_array_equal(native.invoke_raw(x), ref.invoke_raw(x))


@pytest.mark.parametrize("board,reference", [("mps2-an386", False), ("microbit", True)])
def test_firmware_is_bit_exact(rnn_int8_model, tmp_path, board, reference):
    r = mcu.measure(rnn_int8_model, board, vectors=4, reference=reference, out=tmp_path / board)
    assert r["bit_exact_vs_tflm"] and r["mismatching_vectors"] == 0 and r["vectors"] == 4
    assert r["macs_per_inference"] == 12 * (8 * (4 + 8) + 8 * (8 + 8)) + 8 * 3  # T x (2 layers) + head
    assert 1 < r["instructions_per_mac"] < 200


def test_onnx_export_matches_keras(rnn_run):
    api.export(rnn_run, format="onnx")
    record = json.loads((rnn_run / "export_onnx.json").read_text())
    f = record["metrics"]["float"]
    assert f["within_tolerance"] and f["max_abs_diff_vs_keras"] <= 1e-4
    assert f["ops"] == {"RNN": 2, "Squeeze": 2, "Transpose": 1, "MatMul": 1, "Add": 1, "Softmax": 1}  # native, no Loop


def test_magnitude_and_structured_pruning(rnn_run, tmp_path):
    pruned = api.prune(rnn_run, sparsity=0.75, epochs=3, out=tmp_path / "p")
    sparsity = json.loads((pruned / "prune.json").read_text())["metrics"]["sparsity_per_tensor"]
    kernels = {k: v for k, v in sparsity.items() if "rnn" in k}
    assert len(kernels) == 4 and all(abs(v - 0.75) < 0.02 for v in kernels.values())
    small = api.prune(rnn_run, sparsity=0.5, structured=True, epochs=1, out=tmp_path / "s")
    assert load_config(small).units == 4
    assert KerasRuntime(small / "model.keras").model.count_params() == count_params(load_config(small))
    assert api.quantize(pruned, mode="int8", calibration_samples=30).is_file()
