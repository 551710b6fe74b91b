"""The one model gate (issue #30 item 1, docs/design/hardening.md): a .keras file reaches tf_keras only after
edgernn.model_gate has checked every class, module and value in its config against what edgernn builds.

Each command that loads a Keras model is run on the issue's exploit (a zip .keras whose Lambda names
``pydoc.pipepager`` with a shell command): on ffdc600 the command ran; now it is refused, one line, exit 2.
"""
from __future__ import annotations

import ast
import io
import json
import shutil
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from edgernn.cli import main
from edgernn.errors import UserError
from edgernn.model_gate import GateRefusal, check_model_config, gate_keras_zip

ROOT = Path(__file__).resolve().parents[1]
KWS_MODEL = ROOT / "models" / "kws-gru64"


def _cli(*args):
    r = CliRunner().invoke(main, [str(a) for a in args])
    errors = [ln for ln in r.output.splitlines() if ln.startswith("edgernn: error:")]
    return r, errors


def _zip_members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


def _write_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        for name, body in members.items():
            z.writestr(name, body)
    return path


def pydoc_lambda(marker: Path, after: str) -> dict:
    """The issue's exploit: a Lambda whose function is resolved by module and name, so safe_mode lets it
    through, and tf_keras calls pydoc.pipepager(inputs, cmd="touch <marker>") while it rebuilds the graph."""
    return {"module": "keras.layers", "class_name": "Lambda", "registered_name": None, "name": "evil",
            "config": {"name": "evil", "trainable": True, "dtype": "float32",
                       "function": {"module": "pydoc", "class_name": "function", "config": "pipepager",
                                    "registered_name": "function"},
                       "function_type": "function", "module": "pydoc", "output_shape": None,
                       "output_shape_type": "raw", "output_shape_module": None,
                       "arguments": {"cmd": f"touch {marker}"}},
            "inbound_nodes": [[[after, 0, 0, {}]]]}


def plant_pydoc_lambda(model: Path, marker: Path) -> None:
    """Rewrite ``model`` in place with the exploit's Lambda between its input and its first layer."""
    members = _zip_members(model)
    config = json.loads(members["config.json"])
    layers = config["config"]["layers"]
    layers.insert(1, pydoc_lambda(marker, layers[0]["name"]))
    layers[2]["inbound_nodes"] = [[["evil", 0, 0, {}]]]
    members["config.json"] = json.dumps(config).encode()
    _write_zip(model, members)


@pytest.fixture(scope="module")
def kws_data(tmp_path_factory):
    """A tiny synthetic keyword dataset (streaming-eval reads its background noise)."""
    from edgernn.data.synth_kws import synth_kws

    words = json.loads((KWS_MODEL / "config.json").read_text())["class_names"][2:]  # the shipped model's keywords
    return synth_kws(tmp_path_factory.mktemp("kws") / "d", seed=3, per_word=2, unknown_total=4, engines="espeak",
                     keywords=",".join(words), progress=False)


@pytest.fixture
def kws_run(tmp_path, kws_data):
    """A copy of the shipped kws-gru64 run folder, reading the tiny dataset, and a 2 s WAV to detect in."""
    from edgernn.data.wav import write_wav

    run = tmp_path / "kws"
    shutil.copytree(KWS_MODEL, run)
    config = json.loads((run / "config.json").read_text())
    config["data"] = str(kws_data)
    (run / "config.json").write_text(json.dumps(config))
    write_wav(tmp_path / "a.wav", (np.random.default_rng(0).standard_normal(32000) * 0.05).astype(np.float32))
    return run


def code_ran(marker: Path, wait: float = 1.0) -> bool:
    """Whether the payload wrote ``marker``: pydoc.pipepager starts the shell command and returns without waiting
    for it, so give it a moment."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline and not marker.exists():
        time.sleep(0.05)
    return marker.exists()


def _commands(run: Path, kws: Path, tmp: Path) -> dict[str, list]:
    return {"eval": ["eval", run / "model.keras"],
            "quantize": ["quantize", run, "--mode", "float16"],
            "prune": ["prune", run, "--epochs", "0", "--out", tmp / "pruned"],
            "export-onnx": ["export", run, "--format", "onnx"],
            "bench-keras": ["bench", run / "model.keras", "--runtimes", "keras", "--warmup", "1", "--runs", "2",
                            "--repeat", "1", "--out", tmp / "bench"],
            "detect": ["detect", kws, tmp / "a.wav"],
            "streaming-eval": ["streaming-eval", kws, "--minutes", "0.2", "--calibration-minutes", "0.2"]}


@pytest.mark.parametrize("command", ["eval", "quantize", "prune", "export-onnx", "bench-keras", "detect",
                                     "streaming-eval"])
def test_pydoc_lambda_exploit_is_refused_by_every_command(command, tiny_runs, kws_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(tiny_runs["gru"], run)
    marker = tmp_path / "PWNED"
    plant_pydoc_lambda(run / "model.keras", marker)
    plant_pydoc_lambda(kws_run / "model.keras", marker)
    r, errors = _cli(*_commands(run, kws_run, tmp_path)[command])
    assert not code_ran(marker), f"{command} ran the shell command named in the model file"
    assert r.exit_code == 2, r.output
    assert len(errors) == 1 and "refused by the model gate" in errors[0] and "Lambda" in errors[0], r.output
    assert "Traceback" not in r.output


def _hdf5_lambda_model(path: Path, marker: Path) -> None:
    from edgernn.tf import load

    _, keras = load()
    inp = keras.Input((49, 10))
    x = keras.layers.Lambda(lambda t, p=str(marker): (open(p, "w").write("pwned"), t)[1])(inp)
    x = keras.layers.GRU(2)(x)
    keras.Model(inp, keras.layers.Dense(12, activation="softmax")(x)).save(path, save_format="h5")
    marker.unlink(missing_ok=True)  # building the model ran the Lambda once


@pytest.mark.parametrize("command", ["detect", "streaming-eval"])
def test_hdf5_named_model_keras_is_refused_by_the_streaming_commands(command, kws_run, tmp_path):
    """On ffdc600 detect and streaming-eval called keras.models.load_model directly: this ran the bytecode."""
    marker = tmp_path / "PWNED"
    _hdf5_lambda_model(kws_run / "model.keras", marker)
    r, errors = _cli(*_commands(kws_run, kws_run, tmp_path)[command])
    assert not code_ran(marker), f"{command} ran code from an HDF5 model"
    assert r.exit_code == 2 and len(errors) == 1 and "HDF5" in errors[0], r.output


def test_every_keras_load_in_edgernn_goes_through_the_gate():
    """By construction: the one call of keras' load_model in the package is in io.load_keras_model."""
    calls = []
    for path in sorted((ROOT / "edgernn").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            name = node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else None
            if name in ("load_model", "model_from_json", "model_from_config", "deserialize_keras_object",
                        "load_weights_from_hdf5_group"):
                calls.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert calls == [f"edgernn/io.py:{_load_model_line()}"], calls


def _load_model_line() -> int:
    source = (ROOT / "edgernn" / "io.py").read_text().splitlines()
    return next(i for i, line in enumerate(source, 1) if "keras.models.load_model(" in line)


def test_models_edgernn_builds_pass_the_gate_and_load(tmp_path):
    """The allow-list covers every architecture edgernn.models builds (classifier and both anomaly models,
    all three cells, dropout, two layers), saved compiled as train does, and the shipped models."""
    from edgernn.io import load_keras_model
    from edgernn.models import build_anomaly, build_classifier
    from edgernn.tf import load

    _, keras = load()
    models = [build_classifier(arch, 3, 2, (6, 2), 3, dropout=0.1) for arch in ("gru", "lstm", "rnn")]
    models += [build_anomaly(arch, 3, 2, (6, 2), kind) for arch in ("gru", "lstm") for kind in ("predictor",
                                                                                                "autoencoder")]
    for i, model in enumerate(models):
        model.compile(optimizer=keras.optimizers.Adam(1e-3, global_clipnorm=1.0), loss="mse", metrics=["accuracy"])
        model.save(tmp_path / f"m{i}.keras")
        loaded = load_keras_model(tmp_path / f"m{i}.keras")
        x = np.random.default_rng(i).standard_normal((2, 6, 2)).astype(np.float32)
        np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)
    for shipped in sorted((ROOT / "models").glob("*/model.keras")):
        gate_keras_zip(shipped, shipped.read_bytes())


def _good_config() -> dict:
    return json.loads(_zip_members(KWS_MODEL / "model.keras")["config.json"])


def _layer(config: dict, cls: str) -> dict:
    return next(entry for entry in config["config"]["layers"] if entry["class_name"] == cls)


@pytest.mark.parametrize("mutate,message", [
    (lambda c: _layer(c, "GRU").update(class_name="Lambda"), "class 'Lambda' is not a layer"),
    (lambda c: _layer(c, "GRU").update(module="pydoc"), "module 'pydoc' refused"),
    (lambda c: _layer(c, "GRU").update(registered_name="evil>Thing"), "registered name"),
    (lambda c: _layer(c, "GRU")["config"].update(function_type="function"), "unexpected key 'function_type'"),
    (lambda c: _layer(c, "GRU")["config"].update(activation={"module": "os", "class_name": "system"}),
     "not one of"),
    (lambda c: _layer(c, "GRU")["config"].update(activation="os.system"), "'os.system' is not one of"),
    (lambda c: _layer(c, "GRU")["config"]["kernel_initializer"].update(class_name="function", module="pydoc"),
     "class 'function' is not a initializer"),
    (lambda c: _layer(c, "GRU")["config"].update(kernel_regularizer={"class_name": "L2", "module": "subprocess",
                                                                     "config": {"l2": 0.1}}), "module 'subprocess'"),
    (lambda c: _layer(c, "Dense")["config"].update(kernel_constraint={"class_name": "Lambda"}), "not a constraint"),
    (lambda c: _layer(c, "GRU")["config"].update(dtype={"class_name": "Policy", "module": "x"}), "not one of"),
    (lambda c: _layer(c, "GRU")["config"].update(units=10**9), "units: expected an integer"),
    (lambda c: _layer(c, "GRU")["config"].update(units=True), "units: expected an integer"),
    (lambda c: _layer(c, "GRU")["inbound_nodes"][0][0][3].update(cmd="touch x"), "call argument 'cmd'"),
    (lambda c: _layer(c, "GRU")["build_config"].update(input_shape={"class_name": "Lambda"}), "expected a shape"),
    (lambda c: c.update(build_config={"input_shape": [None, 49, 10], "module": "os"}), "unexpected key 'module'"),
    (lambda c: c.update(class_name="Sequential"), "class 'Sequential' is not a model"),
    (lambda c: c.update(module="builtins"), "module 'builtins' refused"),
    (lambda c: c["config"].update(layers={"evil": 1}), "expected a list of 1 to 64 layers"),
])
def test_the_gate_refuses_what_edgernn_does_not_build(mutate, message):
    config = _good_config()
    check_model_config(config)
    mutate(config)
    with pytest.raises(GateRefusal, match=message):
        check_model_config(config)


def _clean_members() -> dict[str, bytes]:
    return _zip_members(KWS_MODEL / "model.keras")


@pytest.mark.parametrize("members,message", [
    ({**_clean_members(), "assets/evil.py": b"import os"}, "unexpected member 'assets/evil.py'"),
    ({k: v for k, v in _clean_members().items() if k != "config.json"}, "no config.json"),
    ({**_clean_members(), "config.json": b"\0" * (2 * 1024 * 1024)}, "config.json unpacks to"),
    ({**_clean_members(), "config.json": b'{"a": NaN}'}, "NaN"),
    ({**_clean_members(), "config.json": b"[" * 100_000 + b"]" * 100_000}, "nested"),
    ({**_clean_members(), "metadata.json": b'{"keras_version": {"class_name": "Lambda"}}'}, "metadata.json"),
])
def test_the_gate_bounds_the_archive(tmp_path, members, message):
    path = _write_zip(tmp_path / "m.keras", members)
    with pytest.raises(UserError, match=message):
        gate_keras_zip(path, path.read_bytes())


def test_a_zip_bomb_member_is_refused_by_its_ratio(tmp_path):
    members = _clean_members()
    path = tmp_path / "m.keras"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("config.json", members["config.json"])
        z.writestr("model.weights.h5", b"\0" * (100 * 1024 * 1024))
    with pytest.raises(UserError, match="compressed .*:1"):
        gate_keras_zip(path, path.read_bytes())


def test_tf_keras_sees_only_what_the_gate_checked(tmp_path):
    """The gate hands tf_keras a new archive: the checked members, the config without compile settings."""
    members = _clean_members()
    config = json.loads(members["config.json"])
    config["compile_config"] = {"loss": {"module": "pydoc", "class_name": "function", "config": "pipepager"}}
    members["config.json"] = json.dumps(config).encode()
    path = _write_zip(tmp_path / "m.keras", members)
    out = zipfile.ZipFile(io.BytesIO(gate_keras_zip(path, path.read_bytes())))
    assert sorted(out.namelist()) == ["config.json", "metadata.json", "model.weights.h5"]
    assert "compile_config" not in json.loads(out.read("config.json"))
    assert out.read("model.weights.h5") == members["model.weights.h5"]
