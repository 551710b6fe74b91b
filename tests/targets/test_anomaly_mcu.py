"""int8 GRU and LSTM anomaly models (next-step predictor, autoencoder) on TFLite Micro and in the generated C,
bit-exact: tiny models on a short synthetic series, every output step compared byte for byte."""
from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from edgernn import api
from edgernn.cli import main
from edgernn.export.check import check, ops_tflm_lacks
from edgernn.runtimes.base import quantize as quantize_input
from edgernn.runtimes.native import NativeRuntime
from edgernn.runtimes.tflm import TFLMRuntime
from edgernn.tflite.info import describe
from edgernn.train.run import load_data_for_run, load_run, prepare_inputs
from tests.conftest import sine_series_csv

WINDOW = 24


@pytest.fixture(scope="module")
def series(tmp_path_factory):
    root = tmp_path_factory.mktemp("series")
    sine_series_csv(root / "s.csv", n=900, period=24, anomalies=((760, 771),))
    return root


MODELS = [("gru", "predictor"), ("gru", "autoencoder"), ("lstm", "predictor"), ("lstm", "autoencoder")]


@pytest.fixture(scope="module")
def int8_models(series):
    """(arch, kind) -> (run, int8 model), each trained and quantized once, when a test first asks for it."""
    made = {}

    def get(arch, kind):
        if (arch, kind) not in made:
            run = api.train(task="anomaly", arch=arch, units=4, data=series / "s.csv", out=series / f"{arch}-{kind}",
                            epochs=2, anomaly_model=kind, data_options={"window": WINDOW, "stride": 8},
                            overwrite=True, progress=False)
            made[arch, kind] = run, api.quantize(run, mode="int8", calibration_samples=50)
        return made[arch, kind]
    return get


def real_windows(run, model, n=12) -> list[np.ndarray]:
    """int8 test windows (normal and anomalous) as the model takes them."""
    _, config = load_run(run)
    test = load_data_for_run(config).splits["test"]
    info = TFLMRuntime(model).input_info()
    X = prepare_inputs(test.X[:n], config)
    return [quantize_input(X[i:i + 1], info) for i in range(len(X))]


@pytest.mark.parametrize("arch, kind", MODELS)
def test_int8_anomaly_model_runs_on_tflite_micro_without_tile(int8_models, arch, kind):
    _, model = int8_models(arch, kind)
    ops = describe(model)["ops"]
    assert "TILE" not in ops and ops_tflm_lacks(ops) == []
    if arch == "lstm" and kind == "autoencoder":  # RepeatVector, as TFLite Micro runs it
        assert "BROADCAST_TO" in ops
    if arch == "gru":  # the hand-built graph's output register
        assert "CONCATENATION" in ops
    assert check(model)["runs"]


@pytest.mark.parametrize("arch, kind", MODELS)
def test_int8_anomaly_model_is_bit_exact_in_generated_c(int8_models, arch, kind):
    run, model = int8_models(arch, kind)
    c, ref = NativeRuntime(model), TFLMRuntime(model)
    shape = ref.input_info().shape
    rng = np.random.default_rng(4)
    inputs = real_windows(run, model) + [rng.integers(-128, 128, size=shape).astype(np.int8) for _ in range(12)]
    outputs = [c.invoke_raw(x) for x in inputs]
    for x, out in zip(inputs, outputs):
        assert out.shape == (1, WINDOW, 1)  # the per-step reconstruction / prediction, not class scores
        np.testing.assert_array_equal(out, ref.invoke_raw(x))
    assert len({o.tobytes() for o in outputs}) > len(inputs) // 2


def test_int8_lstm_autoencoder_keeps_detecting_the_anomaly_on_tflite_micro(int8_models):
    _, model = int8_models("lstm", "autoencoder")  # the model rewritten for TFLite Micro
    m = api.evaluate(model, runtime="tflm", progress=False)
    assert m["task"] == "anomaly" and m["roc_auc"] > 0.5 and m["events"]["top1_hit"]


def test_export_c_and_check_cli_on_an_anomaly_model(int8_models, tmp_path):
    _, model = int8_models("lstm", "autoencoder")
    r = CliRunner().invoke(main, ["export", str(model), "--format", "c", "--out", str(tmp_path / "c")])
    assert r.exit_code == 0, r.output
    assert "BROADCAST_TO" in (tmp_path / "c" / "model.c").read_text()
    r = CliRunner().invoke(main, ["check", str(model)])
    assert r.exit_code == 0 and "runs on TFLite Micro" in r.output, r.output


def test_int8_gru_autoencoder_is_bit_exact_in_qemu(int8_models, tmp_path):
    """`bench --target mcu` on an anomaly model: real test windows as vectors, the row's metric is ROC-AUC."""
    run, model = int8_models("gru", "autoencoder")  # one model in QEMU keeps the suite short
    row, = api.bench([model], target="mcu", vectors=3, limit=20, progress=False, board="mps2-an386")
    m = row["mcu"]
    assert m["bit_exact_vs_tflm"] and m["mismatching_vectors"] == 0 and m["vectors"] == 3
    assert row["metric"] == "roc_auc" and 0 <= row["accuracy"] <= 1 and m["accuracy_basis"].startswith("roc_auc")


def _tile_model(path, in_shape, multiples):
    from edgernn.tflite.builder import ModelBuilder

    mb = ModelBuilder("tile")
    g = mb.subgraph("main")
    x = g.tensor("x", in_shape, "int8", 0.1, 3)
    y = g.tensor("y", [d * m for d, m in zip(in_shape, multiples)], "int8", 0.1, 3)
    g.op("TILE", [x, g.const("multiples", multiples, "int32")], [y])
    g.g.inputs, g.g.outputs = [x], [y]
    path.write_bytes(mb.to_bytes())
    return path


def test_tile_to_broadcast_rewrites_only_tiles_that_broadcast(tmp_path):
    from edgernn.optimize.tile_free import tile_to_broadcast
    from edgernn.runtimes.litert import LiteRTRuntime

    tile = _tile_model(tmp_path / "tile.tflite", [1, 1, 5], [1, 7, 1])
    data, replaced = tile_to_broadcast(tile.read_bytes())
    rewritten = tmp_path / "broadcast.tflite"
    rewritten.write_bytes(data)
    assert replaced == 1 and describe(rewritten)["ops"] == {"BROADCAST_TO": 1}
    before, after, micro = LiteRTRuntime(tile), LiteRTRuntime(rewritten), TFLMRuntime(rewritten)
    x = np.arange(-2, 3, dtype=np.int8).reshape(1, 1, 5)
    np.testing.assert_array_equal(after.invoke_raw(x), before.invoke_raw(x))
    np.testing.assert_array_equal(micro.invoke_raw(x), before.invoke_raw(x))
    # a TILE that repeats more than one row is not a broadcast: left for `check` to name
    other = _tile_model(tmp_path / "tile2.tflite", [1, 2, 5], [1, 3, 1])
    assert tile_to_broadcast(other.read_bytes()) == (other.read_bytes(), 0)
