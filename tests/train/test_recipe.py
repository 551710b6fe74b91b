"""The training recipe derived from the data, and the "did not learn" guard."""
from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from edgernn import api
from edgernn.cli import main
from edgernn.errors import UserError
from edgernn.train import guard as G
from edgernn.train.recipe import DEFAULT_STEPS_PER_EXECUTION, cosine_callback, cosine_lr, cosine_schedule, make_recipe


def test_small_sets_get_small_batches_more_epochs_and_patience():
    small, large = make_recipe(29), make_recipe(20000)
    assert small["batch_size"] == 8 and small["steps_per_epoch"] == 4
    assert small["epochs"] == 250 and small["patience"] == 40  # ~1000 steps budget, ~200 steps of patience
    assert small["min_epochs"] >= small["warmup_epochs"] >= 1
    assert large["batch_size"] == 64 and large["epochs"] == 40 and large["patience"] == 8
    assert large["steps_per_epoch"] * large["epochs"] >= 1000
    mid = make_recipe(428)  # a few hundred sequences: >= 10 steps per epoch
    assert mid["steps_per_epoch"] >= 10 and mid["batch_size"] == 32


def test_given_values_win_and_are_not_listed_as_derived():
    r = make_recipe(29, batch_size=16, patience=5, lr=1e-2, clipnorm=0)
    assert (r["batch_size"], r["patience"], r["lr"], r["clipnorm"]) == (16, 5, 1e-2, 0)
    assert r["steps_per_epoch"] == 2 and r["epochs"] == 300  # epochs still derived from the given batch
    assert set(r["derived"]) == {"epochs", "warmup_epochs", "min_epochs", "lr_schedule", "steps_per_execution"}
    r = make_recipe(29, epochs=2)
    assert r["min_epochs"] == 0 and r["warmup_epochs"] <= 1  # never more waiting than training


@pytest.mark.parametrize("kwargs", [dict(batch_size=0), dict(epochs=0), dict(patience=0), dict(lr=0.0),
                                    dict(clipnorm=-1.0), dict(warmup_epochs=-1), dict(min_epochs=-2)])
def test_bad_recipe_values_are_user_errors(kwargs):
    with pytest.raises(UserError):
        make_recipe(100, **kwargs)


def test_bad_recipe_option_exits_2_before_reading_data(tmp_path):
    r = CliRunner().invoke(main, ["train", "--task", "classify", "--data", str(tmp_path / "none.npz"),
                                  "--out", str(tmp_path / "r"), "--batch-size", "0"])
    assert r.exit_code == 2 and "Invalid value for '--batch-size'" in r.output


def test_guard_flags_near_chance_and_first_epoch_best():
    history = {"loss": [1.0, 0.9, 0.8], "val_loss": [1.0, 1.1, 1.2]}
    y = np.array([0, 1, 2] * 10)
    g = G.classification_guard(history, {"steps_per_epoch": 3, "batch_size": 64}, y, 0.36, y, 0.30, 3)
    assert g["did_not_learn"]
    text = " ".join(g["reasons"])
    assert "epoch 1 of 3" in text and "3 per epoch" in text
    assert "validation accuracy 36.0% is near chance" in text and "test accuracy 30.0%" in text
    good = G.classification_guard({"loss": [1.0, 0.5, 0.2], "val_loss": [1.0, 0.6, 0.3]}, {}, y, 0.9, y, 0.88, 3)
    assert good == {"did_not_learn": False, "reasons": []}
    assert G.anomaly_guard({"loss": [1.0, 0.2]}, {}, 0.5)["did_not_learn"]
    assert not G.anomaly_guard({"loss": [1.0, 0.2]}, {}, 0.9)["did_not_learn"]
    assert "NaN" in G.anomaly_guard({"loss": [1.0, float("nan")]}, {}, None)["reasons"][0]


def test_chance_is_the_majority_share():
    y = np.array([0] * 80 + [1] * 20)
    assert G.chance_accuracy(y, 2) == 0.8
    assert G.near_chance(0.84, 0.8) and not G.near_chance(0.9, 0.8)


def test_run_records_recipe_and_warms_up_the_learning_rate(tiny_npz, tmp_path):
    from edgernn.tf import load

    _, keras = load()
    seen = []

    class Record(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(float(keras.backend.get_value(self.model.optimizer.learning_rate)))

    run = api.train(task="classify", arch="gru", units=8, data=tiny_npz, out=tmp_path / "run", epochs=12,
                    lr=1e-2, warmup_epochs=2, progress=False, callbacks=[Record()])
    config = json.loads((run / "config.json").read_text())
    metrics = json.loads((run / "metrics.json").read_text())
    r = config["recipe"]
    assert r["batch_size"] == config["batch_size"] == 16 and r["steps_per_epoch"] == 10  # 160 rows
    assert "batch_size" in r["derived"] and "epochs" not in r["derived"]
    warm = 2 * r["steps_per_epoch"]
    assert np.allclose(seen[:warm], 1e-2 * np.arange(1, warm + 1) / warm, rtol=1e-5)
    assert seen[warm] == pytest.approx(1e-2, rel=1e-5)
    assert metrics["guard"] == {"did_not_learn": False, "reasons": []} and metrics["accuracy"] > 0.8


def test_run_on_unlearnable_data_warns_and_is_flagged(tmp_path):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(120, 6, 2)).astype(np.float32)
    y = rng.integers(0, 4, 120)  # labels unrelated to X
    np.savez(tmp_path / "noise.npz", X=X, y=y, split=np.array(["train"] * 80 + ["val"] * 20 + ["test"] * 20))
    r = CliRunner().invoke(main, ["train", "--task", "classify", "--arch", "gru", "--units", "4", "--epochs", "4",
                                  "--data", str(tmp_path / "noise.npz"), "--out", str(tmp_path / "r")])
    assert r.exit_code == 0, r.output
    assert "edgernn: warning: did not learn?" in r.output
    guard = json.loads((tmp_path / "r" / "metrics.json").read_text())["guard"]
    assert guard["did_not_learn"] and guard["reasons"]


def test_steps_per_execution_is_derived_from_the_schedule_and_checked():
    assert make_recipe(38_016, task="kws")["steps_per_execution"] == DEFAULT_STEPS_PER_EXECUTION == 1
    assert make_recipe(500)["steps_per_execution"] == 1
    r = make_recipe(500, lr_schedule="cosine", steps_per_execution=8)
    assert r["steps_per_execution"] == 8 and "steps_per_execution" not in r["derived"]
    for bad in (dict(steps_per_execution=0), dict(steps_per_execution=4, lr_schedule="plateau")):
        with pytest.raises(UserError, match="steps-per-execution"):
            make_recipe(500, **bad)
    r = CliRunner().invoke(main, ["train", "--task", "classify", "--arch", "gru", "--data", "x.npz", "--out", "o",
                                  "--steps-per-execution", "0"])
    assert r.exit_code == 2 and "steps-per-execution" in r.output


@pytest.mark.parametrize("lr, warmup, total", [(6e-3, 594, 594 * 40), (1e-2, 0, 120), (3e-3, 7, 10)])
def test_the_in_graph_cosine_schedule_gives_the_callbacks_rates_bit_for_bit(lr, warmup, total):
    """The rate computed in the graph (cosine_schedule) equals, as float32, the one the per-step Python
    callback set (cosine_lr through set_value), at every step of the schedule and past its end: training
    with either is the same arithmetic (the KWS default: 594 steps of warm-up, 40 epochs of 594)."""
    from edgernn.tf import load

    tf, keras = load()
    steps = np.arange(total + 5)
    graph = cosine_schedule(keras, lr, warmup, total)(tf.constant(steps, tf.int64)).numpy()
    assert graph.dtype == np.float32
    want = np.array([cosine_lr(int(s), lr, warmup, total) for s in steps]).astype(np.float32)
    np.testing.assert_array_equal(graph, want)
    # and what the callback writes into the optimizer's variable is that same float32
    var = tf.Variable(0.0, dtype=tf.float32)
    for s in (0, warmup // 2, warmup, (warmup + total) // 3, total - 1):
        keras.backend.set_value(var, cosine_lr(s, lr, warmup, total))
        assert var.numpy() == graph[s]
    assert cosine_callback(keras, lr, warmup, total) is not None  # kept for callers that set rates per step


def test_several_steps_per_execution_train_the_same_weights(tiny_npz, tmp_path):
    """steps_per_execution only changes how often Python hands over to the compiled step: 7 steps per call
    (10 steps per epoch: every epoch ends with a short call) train the same weights, bit for bit, and the
    same history as 1, with the cosine rate computed in the graph."""
    from edgernn.tf import load

    _, keras = load()
    runs = {k: api.train(task="classify", arch="gru", units=4, data=tiny_npz, out=tmp_path / f"spe{k}", epochs=5,
                         batch_size=16, lr=1e-2, patience=50, progress=False, lr_schedule="cosine",
                         steps_per_execution=k) for k in (1, 7)}
    for k, run in runs.items():
        assert json.loads((run / "config.json").read_text())["recipe"]["steps_per_execution"] == k
    one, seven = (keras.models.load_model(runs[k] / "model.keras", compile=False).get_weights() for k in (1, 7))
    assert len(one) == len(seven) and all(np.array_equal(a, b) for a, b in zip(one, seven))
    assert (runs[1] / "history.json").read_text() == (runs[7] / "history.json").read_text()


def test_kws_takes_several_steps_per_execution_without_naming_its_schedule(tmp_path):
    """--task kws derives the cosine schedule, so --steps-per-execution above 1 is accepted before the data
    are read (the early check must know the task): the error here is the missing data folder."""
    with pytest.raises(UserError) as err:
        api.train(task="kws", arch="gru", data=tmp_path / "none", out=tmp_path / "run", steps_per_execution=8,
                  progress=False)
    assert "steps-per-execution" not in str(err.value)
    with pytest.raises(UserError, match="steps-per-execution"):
        api.train(task="classify", arch="gru", data=tmp_path / "none", out=tmp_path / "run", steps_per_execution=8,
                  progress=False)


def test_dense_head_learning_rate():
    from edgernn.train.recipe import DENSE_HEAD_LR, KWS_LR, make_recipe

    assert make_recipe(4000, task="kws", arch="dense")["lr"] == DENSE_HEAD_LR < KWS_LR
    assert make_recipe(4000, task="kws", arch="gru")["lr"] == KWS_LR
    assert make_recipe(4000, task="kws", arch="dense", lr=1e-3)["lr"] == 1e-3
