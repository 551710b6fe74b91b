"""Typed run records (edgernn/records.py): old folders load, bad records are one error line everywhere."""
import copy
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from edgernn import records as R
from edgernn.cli import main
from edgernn.errors import UserError

MODELS = Path(__file__).resolve().parents[1] / "models"
SHIPPED = sorted(p.name for p in MODELS.iterdir() if (p / "config.json").is_file())


def _raw(name: str) -> dict:
    return json.loads((MODELS / name / "config.json").read_text())


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_models_load_and_round_trip(name):
    """models/* as shipped are what today's edgernn writes (tools/make_models.py); read back they write the
    same record, and the same record without its version (schema 1) migrates to every value it had."""
    raw = _raw(name)
    assert raw["schema_version"] == R.SCHEMA_VERSION
    config = R.read_config(MODELS / name / "config.json")
    written = config.to_json()
    assert written == raw
    assert R.validate_config(written) == config  # what is written reads back the same
    schema_1 = {k: v for k, v in raw.items() if k != "schema_version"}
    assert R.validate_config(schema_1).to_json() == raw
    assert R.read_metrics(MODELS / name / "metrics.json").main_metric()[1] > 0.8


def test_version_1_gaps_are_filled_by_migration():
    """A schema-1 record read ``dropout`` and ``anomaly_model`` with .get defaults; version 2 writes them."""
    raw = _raw("anomaly-lstm32")
    del raw["dropout"], raw["anomaly_model"], raw["schema_version"]
    config = R.validate_config(raw)
    assert (config.dropout, config.anomaly_model) == (0.0, "predictor")


@pytest.mark.parametrize("version, message", [
    (99, "written by a newer edgernn (schema 99"), ("2", "schema_version must be a positive integer"),
    (0, "schema_version must be a positive integer"), (True, "schema_version must be a positive integer"),
])
def test_unknown_schema_versions_say_why(version, message):
    with pytest.raises(UserError, match=message.replace("(", r"\(")):
        R.validate_config(dict(_raw("kws-gru64"), schema_version=version))


def _set(path: str, value):
    """A change to one field, named by a dotted path ('dataset_meta.features.hop_ms')."""
    def change(c):
        node = c
        *parents, last = path.split(".")
        for p in parents:
            node = node[p]
        node[last] = value
        return c
    return change


def _features_to_13(c):
    c["dataset_meta"]["features"]["n_mfcc"] = 13
    return c


# the tampered records of issue #30 (each gave a traceback, a MemoryError or silent wrong accuracy)
TAMPERED = {
    "hop_zero": (_set("dataset_meta.features.hop_ms", 0), "'dataset_meta.features.hop_ms' must be greater than 0"),
    "n_mels_huge": (_set("dataset_meta.features.n_mels", 10**9), "'dataset_meta.features.n_mels' must be less"),
    "norm_list": (_set("input_norm", [0.0, 1.0]), "'input_norm' must be an object"),
    "meta_list": (_set("dataset_meta", [1, 2]), "'dataset_meta' must be an object"),
    "features_list": (_set("dataset_meta.features", []), "'dataset_meta.features' must be an object"),
    "streaming_list": (_set("streaming", [200]), "'streaming' must be an object"),
    "fmin_above_fmax": (_set("dataset_meta.features.fmin", 5000.0), "fmin (5000 Hz) must be below fmax (4000 Hz)"),
    "std_tiny": (_set("input_norm.std", [1e-300] * 10), "'input_norm.std[0]' must be greater than"),
    "features_mismatch": (_features_to_13, "does not match the feature parameters"),
    "fewer_classes": (_set("class_names", ["_silence_", "_unknown_", "yes"]), "the model has 12 outputs but "
                                                                            "config.json has 3 class_names"),
    "more_classes": (_set("class_names", [f"w{k}" for k in range(13)]), "the model has 12 outputs but "
                                                                        "config.json has 13 class_names"),
}


@pytest.fixture(scope="module")
def kws_copy(tmp_path_factory):
    """models/kws-gru64 (int8 model and record) and a 1.5 s WAV of noise."""
    root = tmp_path_factory.mktemp("records")
    run = root / "run"
    run.mkdir()
    for f in ("config.json", "model_int8.tflite"):
        shutil.copy(MODELS / "kws-gru64" / f, run / f)
    wav = root / "noise.wav"
    sf.write(str(wav), (np.random.default_rng(0).normal(0, 0.05, 24000) * 32767).astype(np.int16), 16000,
             subtype="PCM_16")
    return run, wav


def _tampered_copy(kws_copy, tmp_path, case) -> Path:
    run = tmp_path / case
    shutil.copytree(kws_copy[0], run)
    change, _ = TAMPERED[case]
    (run / "config.json").write_text(json.dumps(change(copy.deepcopy(_raw("kws-gru64")))))
    return run


def _one_error_line(result, message):
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()  # (bench's progress display may leave a blank line first)
    assert len(lines) == 1 and lines[0].startswith("edgernn: error:"), result.output
    assert message in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("case", sorted(TAMPERED))
def test_detect_and_streaming_eval_refuse_tampered_records(kws_copy, tmp_path, case):
    run = _tampered_copy(kws_copy, tmp_path, case)
    before = (run / "config.json").read_bytes()
    for args in (["detect", str(run / "model_int8.tflite"), str(kws_copy[1])],
                 ["streaming-eval", str(run / "model_int8.tflite"), "--minutes", "0.1",
                  "--calibration-minutes", "0.1"]):
        _one_error_line(CliRunner().invoke(main, args), TAMPERED[case][1])
    assert (run / "config.json").read_bytes() == before  # nothing written back


def test_detect_still_runs_on_the_untampered_copy(kws_copy):
    r = CliRunner().invoke(main, ["detect", str(kws_copy[0] / "model_int8.tflite"), str(kws_copy[1]), "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["results"] > 0


@pytest.mark.parametrize("case", ["n_mels_huge", "fewer_classes"])
def test_firmware_build_refuses_tampered_records(kws_copy, tmp_path, case):
    run = _tampered_copy(kws_copy, tmp_path, case)
    r = CliRunner().invoke(main, ["firmware", "build", str(run), "--app", "kws", "--wav", str(kws_copy[1]),
                                  "--out", str(tmp_path / "fw")])
    _one_error_line(r, TAMPERED[case][1])
    assert not (tmp_path / "fw").exists()


@pytest.mark.parametrize("command", [
    "eval {run}/model_int8.tflite", "quantize {run}", "prune {run}", "export {run} --format onnx",
    "bench {run}/model_int8.tflite --runs 2 --warmup 1",
])  # (firmware build reads the run folder for --app kws, tested above; the bench app reads only the .tflite)
def test_every_reader_refuses_the_same_record(kws_copy, tmp_path, command):
    """One validator: the record that detect refuses is refused, with the same words, by every reader."""
    run = _tampered_copy(kws_copy, tmp_path, "n_mels_huge")
    (run / "model.keras").write_bytes((MODELS / "kws-gru64" / "model.keras").read_bytes())
    args = command.format(run=run).split() + (["--out", str(tmp_path / "out")] if command.startswith("bench") else [])
    _one_error_line(CliRunner().invoke(main, args), TAMPERED["n_mels_huge"][1])


def test_keras_model_is_checked_against_its_record(tmp_path):
    from edgernn.train.run import load_run

    run = tmp_path / "run"
    shutil.copytree(MODELS / "kws-gru64", run)
    (run / "config.json").write_text(json.dumps(TAMPERED["fewer_classes"][0](_raw("kws-gru64"))))
    with pytest.raises(UserError, match="the model has 12 outputs but config.json has 3 class_names"):
        load_run(run)


def test_writing_validates_and_is_atomic(tmp_path):
    path = tmp_path / "config.json"
    R.write_config(path, _raw("kws-gru64"))
    assert json.loads(path.read_text())["schema_version"] == R.SCHEMA_VERSION
    before = path.read_bytes()
    with pytest.raises(UserError, match="'units' must be"):
        R.write_config(path, dict(_raw("kws-gru64"), units=0))
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["config.json"]


def test_metrics_records():
    assert R.validate_metrics({"task": "classification", "accuracy": float("nan")}).main_metric()[0] == "accuracy"
    with pytest.raises(UserError, match="holds neither accuracy nor roc_auc"):
        R.validate_metrics({"task": "anomaly"})
    with pytest.raises(UserError, match="'samples' must be"):
        R.validate_metrics({"accuracy": 0.5, "samples": -1})
    with pytest.raises(UserError, match="unknown metrics schema_version"):
        R.validate_metrics({"accuracy": 0.5, "schema_version": 7})


def test_a_run_written_by_ffdc600_train_loads():
    """config.json exactly as ffdc600's `edgernn train --task classify` wrote it (only the data path shortened)."""
    raw = json.loads((Path(__file__).parent / "fixtures" / "ffdc600_classify_config.json").read_text())
    config = R.validate_config(raw)
    assert (config.task, config.arch, config.units, config.schema_version) == ("classify", "gru", 4, 2)
    assert config.to_json() == dict(raw, schema_version=2)
