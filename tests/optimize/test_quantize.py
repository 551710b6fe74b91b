"""quantize and check: int8 artifacts that LiteRT and TFLite Micro run, and clear errors."""
import json

import numpy as np
import pytest
from click.testing import CliRunner

from edgernn import api
from edgernn.cli import main
from edgernn.data import load_dataset
from edgernn.errors import UserError
from edgernn.tflite.info import describe
from edgernn.runtimes.keras import KerasRuntime
from edgernn.runtimes.litert import LiteRTRuntime
from edgernn.runtimes.tflm import TFLMRuntime
from edgernn.train.run import load_config, prepare_inputs

GRU_OPS = {"FULLY_CONNECTED", "WHILE", "GATHER", "LESS", "SPLIT", "ADD", "SUB", "MUL", "LOGISTIC", "TANH",
           "RESHAPE", "SOFTMAX"}


@pytest.fixture(scope="module")
def int8_models(tiny_runs):
    return {arch: api.quantize(run, mode="int8", calibration_samples=100) for arch, run in tiny_runs.items()}


def _test_inputs(run, n=40):
    config = load_config(run)
    return prepare_inputs(load_dataset(config.data).splits["test"].X[:n], config)


def test_lstm_int8_is_fused(int8_models):
    info = describe(int8_models["lstm"])
    assert info["kind"] == "int8" and info["io_types"] == ["int8", "int8"]
    assert "UNIDIRECTIONAL_SEQUENCE_LSTM" in info["ops"]
    assert info["subgraphs"] == 1


def test_gru_int8_is_the_compact_graph(int8_models, tiny_runs):
    info = describe(int8_models["gru"])
    assert info["kind"] == "int8" and set(info["ops"]) == GRU_OPS
    assert info["ops"]["WHILE"] == 1 and info["ops"]["FULLY_CONNECTED"] == 3  # no per-step copies
    weights = sum(w.size for w in KerasRuntime(tiny_runs["gru"] / "model.keras").model.get_weights())
    assert info["file_bytes"] < weights + 6000  # int8 weights + a few KB of graph


@pytest.mark.parametrize("arch", ["gru", "lstm"])
def test_int8_tracks_keras_on_litert_and_tflm(int8_models, tiny_runs, arch):
    X = _test_inputs(tiny_runs[arch])
    ref = KerasRuntime(tiny_runs[arch] / "model.keras").predict(X)
    for rt in (LiteRTRuntime(int8_models[arch]), TFLMRuntime(int8_models[arch])):
        got = rt.predict(X)
        assert np.abs(got - ref).max() < 0.12, rt.name
        assert (got.argmax(1) == ref.argmax(1)).mean() >= 0.9, rt.name


def test_tflm_and_litert_int8_outputs_are_int8_codes(int8_models):
    rt = TFLMRuntime(int8_models["gru"])
    x = np.zeros(rt.input_info().shape, np.int8)
    out = rt.invoke_raw(x)
    assert out.dtype == np.int8 and out.shape == rt.output_info().shape


def test_quantize_record(int8_models, tiny_runs):
    record = json.loads((tiny_runs["gru"] / "quantize_int8.json").read_text())
    assert record["params"]["mode"] == "int8"
    assert 0 < record["metrics"]["max_abs_diff_vs_keras"] <= 1.0
    assert record["metrics"]["argmax_agreement_vs_keras"] >= 0.9


@pytest.fixture(scope="module")
def run32(tiny_data, tmp_path_factory):
    """32 units: big enough (>= 1024 weights per matrix) for the converter's dynamic-range mode."""
    return api.train(task="classify", arch="gru", units=32, data=tiny_data, out=tmp_path_factory.mktemp("r") / "r",
                     epochs=3, progress=False)


@pytest.mark.parametrize("mode, kind, tolerance", [("float16", "float16", 0.01), ("dynamic", "hybrid", 0.05)])
def test_other_modes(run32, mode, kind, tolerance):
    path = api.quantize(run32, mode=mode)
    assert describe(path)["kind"] == kind
    X = _test_inputs(run32, 10)
    ref = KerasRuntime(run32 / "model.keras").predict(X)
    assert np.abs(LiteRTRuntime(path).predict(X) - ref).max() < tolerance


def test_check_measures_a_working_arena(int8_models):
    from edgernn.export.check import _runs_with, check

    r = check(int8_models["gru"])
    assert r["runs"] and r["kind"] == "int8", r.get("reason")
    data = int8_models["gru"].read_bytes()
    assert _runs_with(data, r["arena_bytes"])[0]
    assert not _runs_with(data, r["arena_bytes"] - 256)[0]
    assert r["flash_bytes"] == len(data)


def test_check_explains_hybrid(run32):
    path = api.quantize(run32, mode="dynamic", out=run32 / "hybrid.tflite")
    r = CliRunner().invoke(main, ["check", str(path)])
    assert r.exit_code == 1
    assert "hybrid" in r.output and "--mode int8" in r.output


def test_converter_crash_becomes_clear_error(tiny_runs, monkeypatch):
    from edgernn.optimize import quantize as q

    def crash(args, **kw):
        import subprocess
        return subprocess.CompletedProcess(args, -11, "", "")

    monkeypatch.setattr(q.subprocess, "run", crash)
    with pytest.raises(UserError, match=r"converter crashed \(SIGSEGV\)"):
        q.quantize(tiny_runs["lstm"], mode="int8", calibration_samples=5, out=tiny_runs["lstm"] / "x.tflite")
    assert not (tiny_runs["lstm"] / "x.tflite").exists()


@pytest.mark.parametrize("args, message", [
    (["quantize", "/no/run"], "no such run folder"),
    (["quantize", "{run}", "--mode", "int4"], "Invalid value for '--mode'"),
    (["check", "{bad}"], "not a TFLite model"),
    (["check", "{trunc}"], "corrupt TFLite model"),
])
def test_bad_inputs_exit_2(tiny_runs, int8_models, tmp_path, args, message):
    (tmp_path / "bad.tflite").write_bytes(b"\x00" * 64)
    (tmp_path / "trunc.tflite").write_bytes(int8_models["gru"].read_bytes()[:200])
    args = [a.format(run=tiny_runs["gru"], bad=tmp_path / "bad.tflite", trunc=tmp_path / "trunc.tflite") for a in args]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 2, r.output
    assert message in r.output and "Traceback" not in r.output


def test_calibration_study_scores_the_validation_split_and_leaves_the_run_alone(tiny_runs):
    from edgernn.train.run import load_data_for_run, read_config
    from tests.conftest import load_tool

    run = tiny_runs["gru"]
    before = sorted(p.name for p in run.iterdir())
    rows = load_tool("bench_int8_calibration").study(run, [20, 60])
    assert [r["calibration_samples"] for r in rows] == ["float", 20, 60]
    n_val = len(load_data_for_run(read_config(run / "config.json")).splits["val"].y)
    assert all(r["val_samples"] == n_val for r in rows)
    assert all(0.0 <= r["val_accuracy"] <= 1.0 for r in rows)
    assert sorted(p.name for p in run.iterdir()) == before  # scratch models only
