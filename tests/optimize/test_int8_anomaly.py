"""Deployable anomaly models: the hand-built int8 GRU predictor/autoencoder graph, and `check`
naming the ops TFLite Micro lacks."""
from __future__ import annotations

import numpy as np
import pytest

from edgernn import api
from edgernn.export.check import check, ops_tflm_lacks
from edgernn.tflite.info import describe
from edgernn.runtimes.litert import LiteRTRuntime
from edgernn.runtimes.tflm import TFLMRuntime
from edgernn.train.run import load_data_for_run, load_run, prepare_inputs
from tests.conftest import sine_series_csv


@pytest.fixture(scope="module")
def series(tmp_path_factory):
    root = tmp_path_factory.mktemp("series")
    sine_series_csv(root / "s.csv", n=1500, period=40, anomalies=((1200, 1219),))
    return root


@pytest.fixture(scope="module", params=["predictor", "autoencoder"])
def gru_int8(request, series):
    run = api.train(task="anomaly", arch="gru", units=8, data=series / "s.csv", out=series / request.param,
                    epochs=3, anomaly_model=request.param, data_options={"window": 40, "stride": 10},
                    overwrite=True, progress=False)
    return run, api.quantize(run, mode="int8")


def _inputs(run, n=12, normal_only=False):
    _, config = load_run(run)
    test = load_data_for_run(config).splits["test"]
    X = test.X[test.y == 0] if normal_only else test.X
    return prepare_inputs(X[:n], config), config


def test_int8_gru_anomaly_graph_uses_no_tile_and_runs_on_tflite_micro(gru_int8):
    run, model = gru_int8
    info = describe(model)
    assert "WHILE" in info["ops"] and "TILE" not in info["ops"] and ops_tflm_lacks(info["ops"]) == []
    assert info["kind"] == "int8"
    result = check(model)
    assert result["runs"] and result["arena_bytes"] > 0


def test_int8_gru_anomaly_outputs_every_step_close_to_float(gru_int8):
    run, model = gru_int8
    keras_model, _ = load_run(run)
    # normal windows: what the int8 ranges were calibrated on (anomalies may saturate, by design)
    X, config = _inputs(run, normal_only=True)
    ref = keras_model.predict(X, verbose=0)
    rt = TFLMRuntime(model)
    got = rt.predict(X)
    assert got.shape == ref.shape == (len(X), 40, 1)
    # inputs are standardized (std 1): the int8 graph stays within 5% of the signal's spread; the hidden
    # state's fixed 1/128 step bounds how close it can get
    assert np.abs(got - ref).mean() < 0.05, np.abs(got - ref).mean()
    # on all test windows the anomaly scores keep their ranking: the same windows stand out
    from edgernn.train.metrics import anomaly_scores
    X, _ = _inputs(run, n=200)
    ref, got = keras_model.predict(X, verbose=0), TFLMRuntime(model).predict(X)
    kind = config.anomaly_model
    assert np.corrcoef(anomaly_scores(ref, X, kind), anomaly_scores(got, X, kind))[0, 1] > 0.9


def test_int8_gru_predictor_is_bit_exact_between_litert_and_tflite_micro(gru_int8):
    run, model = gru_int8
    if "predictor" not in run.name:
        pytest.skip("the autoencoder's main-graph FULLY_CONNECTED runs through XNNPACK on LiteRT")
    X, _ = _inputs(run)
    a, b = LiteRTRuntime(model), TFLMRuntime(model)
    for i in range(len(X)):
        np.testing.assert_array_equal(a.invoke_raw(X[i:i + 1]), b.invoke_raw(X[i:i + 1]))


def test_int8_gru_anomaly_eval_matches_the_threshold_workflow(gru_int8):
    run, model = gru_int8
    m = api.evaluate(model, runtime="tflm", progress=False)
    assert m["task"] == "anomaly" and 0.5 < m["roc_auc"] <= 1.0 and m["events"]["top1_hit"]


def test_check_names_an_op_tflite_micro_lacks(tmp_path):
    from edgernn.tflite.builder import ModelBuilder

    mb = ModelBuilder("tile only")
    g = mb.subgraph("main")
    x = g.tensor("x", [1, 1, 4], "int8", 0.1, 0)
    y = g.tensor("y", [1, 3, 4], "int8", 0.1, 0)
    g.op("TILE", [x, g.const("multiples", [1, 3, 1], "int32")], [y])
    g.g.inputs, g.g.outputs = [x], [y]
    path = tmp_path / "tile.tflite"
    path.write_bytes(mb.to_bytes())
    result = check(path)
    assert not result["runs"]
    assert "TFLite Micro has no kernel for op(s) TILE" in result["reason"] and "GRU autoencoder" in result["reason"]


@pytest.mark.slow
def test_int8_lstm_predictor_runs_bit_exact_in_generated_c(series):
    from edgernn.runtimes.native import NativeRuntime

    run = api.train(task="anomaly", arch="lstm", units=8, data=series / "s.csv", out=series / "lstm-predictor",
                    epochs=2, anomaly_model="predictor", data_options={"window": 40, "stride": 10},
                    overwrite=True, progress=False)
    model = api.quantize(run, mode="int8")
    assert check(model)["runs"]
    X, _ = _inputs(run, n=8)
    c, tflm = NativeRuntime(model), TFLMRuntime(model)
    for i in range(len(X)):
        np.testing.assert_array_equal(c.invoke_raw(X[i:i + 1]), tflm.invoke_raw(X[i:i + 1]))

