"""Magnitude and structured pruning."""
import json

import numpy as np
import pytest
from click.testing import CliRunner

from edgernn import api
from edgernn.cli import main
from edgernn.models import build_classifier
from edgernn.optimize.prune import slice_units, unit_importance
from edgernn.records import Architecture
from edgernn.train.run import load_run


def test_magnitude_pruning_reaches_target_on_every_matrix(tiny_runs, tmp_path):
    out = api.prune(tiny_runs["gru"], sparsity=0.5, epochs=3, out=tmp_path / "p")
    model, config = load_run(out)
    for layer in model.layers:
        for w in layer.weights:
            if "bias" not in w.name:
                assert (w.numpy() == 0).mean() == pytest.approx(0.5, abs=0.02), w.name
    report = json.loads((out / "prune.json").read_text())["metrics"]
    assert report["after"]["nonzero_weights"] < report["before"]["nonzero_weights"]
    assert report["after"]["float32_gzip_bytes"] < report["before"]["float32_gzip_bytes"]
    assert json.loads((out / "metrics.json").read_text())["accuracy"] > 0.6


@pytest.mark.parametrize("arch", ["gru", "lstm"])
def test_removing_dead_units_is_exact(arch):
    """Units whose weights are all zero contribute nothing: slicing them out changes no output."""
    model = build_classifier(arch, 6, 2, (5, 3), 4)
    dead = [1, 4]
    rec_layers = [l for l in model.layers if type(l).__name__ in ("GRU", "LSTM")]
    gates = 3 if arch == "gru" else 4
    for i, layer in enumerate(rec_layers):
        k, r, b = layer.get_weights()
        for g in range(gates):
            cols = [g * 6 + d for d in dead]
            k[:, cols] = 0
            r[:, cols] = 0
            b[..., cols] = 0
        r[dead, :] = 0
        layer.set_weights([k, r, b])
        nxt = rec_layers[i + 1] if i + 1 < len(rec_layers) else model.layers[-1]
        w = nxt.get_weights()
        w[0][dead] = 0
        nxt.set_weights(w)
    importance = unit_importance(model)
    assert all(np.all(s[dead] == 0) for s in importance)
    keep = [np.array([0, 2, 3, 5])] * 2
    config = Architecture(task="kws", arch=arch, units=6, layers=2, input_shape=[5, 3], class_names=list("abcd"))
    small, small_config = slice_units(model, config, keep)
    assert small_config.units == 4 and small.count_params() < model.count_params()
    x = np.random.default_rng(0).normal(size=(3, 5, 3)).astype(np.float32)
    np.testing.assert_allclose(small(x).numpy(), model(x).numpy(), atol=1e-6)


def test_structured_prune_halves_units(tiny_runs, tmp_path):
    out = api.prune(tiny_runs["lstm"], sparsity=0.5, structured=True, epochs=2, out=tmp_path / "s")
    model, config = load_run(out)
    assert config.units == 4 and model.layers[1].units == 4
    report = json.loads((out / "prune.json").read_text())["metrics"]
    assert report["units"] == [8, 4]
    assert report["after"]["float32_bytes"] < report["before"]["float32_bytes"]


@pytest.mark.parametrize("args, message", [
    (["prune", "/no/run"], "no such run folder"),
    (["prune", "{run}", "--sparsity", "1.5"], "Invalid value for '--sparsity'"),
])
def test_bad_inputs_exit_2(tiny_runs, args, message):
    r = CliRunner().invoke(main, [a.format(run=tiny_runs["gru"]) for a in args])
    assert r.exit_code == 2 and message in r.output
