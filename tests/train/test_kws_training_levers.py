"""Training levers of issue 13 (keyword rejection): learning-rate schedule, label smoothing,
_unknown_ class weight. Each test fails if its option were ignored."""
from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from edgernn import api
from edgernn.cli import main
from edgernn.errors import UserError
from edgernn.train.loop import kws_class_weights
from edgernn.train.recipe import DEFAULT_LR_SCHEDULE, KWS_LR, LR_SCHEDULES, cosine_lr, make_recipe, warmup_lr


def test_cosine_rate_warms_up_then_falls_to_zero_at_the_ceiling():
    assert cosine_lr(0, 1.0, 10, 110) == pytest.approx(0.1)
    assert cosine_lr(9, 1.0, 10, 110) == pytest.approx(1.0)
    assert cosine_lr(10, 1.0, 10, 110) == pytest.approx(1.0)
    assert cosine_lr(60, 1.0, 10, 110) == pytest.approx(0.5)
    assert cosine_lr(110, 1.0, 10, 110) == pytest.approx(0.0, abs=1e-12)
    assert cosine_lr(500, 1.0, 10, 110) == pytest.approx(0.0, abs=1e-12)  # past the ceiling: stays at 0
    # plateau halving shares the warm-up, then owns the rate (None: the callback leaves it alone)
    assert [warmup_lr(s, 1.0, 10) for s in (0, 9)] == [pytest.approx(0.1), pytest.approx(1.0)]
    assert warmup_lr(10, 1.0, 10) is None
    rates = [cosine_lr(s, 3e-3, 0, 50) for s in range(50)]
    assert rates[0] == pytest.approx(3e-3) and all(a >= b for a, b in zip(rates, rates[1:]))


def test_schedule_is_recorded_and_checked():
    assert make_recipe(500)["lr_schedule"] == DEFAULT_LR_SCHEDULE in LR_SCHEDULES
    for task in ("classify", "anomaly"):
        assert make_recipe(500, task=task)["lr_schedule"] == "plateau"
    kws = make_recipe(20000, task="kws")  # the keyword recipe adopted on validation data (docs/notes/2026-11-30-keyword-training-schedule.md)
    assert (kws["lr_schedule"], kws["lr"]) == ("cosine", KWS_LR) and "lr_schedule" in kws["derived"]
    # the cosine schedule runs to its end unless a patience is given (the best weights are still kept)
    assert kws["patience"] == kws["epochs"] and make_recipe(20000, task="kws", patience=5)["patience"] == 5
    assert make_recipe(20000, task="kws", lr_schedule="plateau")["patience"] == make_recipe(20000)["patience"] == 8
    r = make_recipe(500, lr_schedule="cosine")
    assert r["lr_schedule"] == "cosine" and "lr_schedule" not in r["derived"]
    with pytest.raises(UserError, match="--lr-schedule"):
        make_recipe(500, lr_schedule="step")


def _train_recording_rates(data, out, **options):
    from edgernn.tf import load

    _, keras = load()
    rates = []

    class Record(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            rates.append(float(keras.backend.get_value(self.model.optimizer.learning_rate)))

    run = api.train(task="classify", arch="gru", units=4, data=data, out=out, epochs=12, batch_size=16, lr=1e-2,
                    patience=50, progress=False, callbacks=[Record()], **options)
    return run, rates


def test_cosine_schedule_drives_training(tiny_npz, tmp_path):
    run, rates = _train_recording_rates(tiny_npz, tmp_path / "cos", lr_schedule="cosine")
    recipe = json.loads((run / "config.json").read_text())["recipe"]
    assert recipe["lr_schedule"] == "cosine"
    steps, warm = recipe["steps_per_epoch"], recipe["warmup_epochs"] * recipe["steps_per_epoch"]
    # the rate of each epoch's last step, as the schedule gives it (plateau halving would give 1e-2 / 2^k)
    expected = [cosine_lr((e + 1) * steps - 1, 1e-2, warm, 12 * steps) for e in range(12)]
    assert rates == pytest.approx(expected, rel=1e-4)
    assert rates[-1] < 1e-4


def test_label_smoothing_caps_the_confidence(tiny_npz, tmp_path):
    """With smoothing s the training target of the true class is 1 - s + s/K: a model trained on it
    stays near that confidence on data it separates perfectly; without smoothing it goes far above."""
    from edgernn.train.run import load_run, prepare_inputs

    X = np.load(tiny_npz)["X"]
    top = {}
    for s in (0.0, 0.6):
        run = api.train(task="classify", arch="gru", units=8, data=tiny_npz, out=tmp_path / f"s{s}", epochs=30,
                        batch_size=16, lr=1e-2, progress=False, label_smoothing=s)
        model, config = load_run(run)
        assert config.label_smoothing == s
        top[s] = float(model.predict(prepare_inputs(X, config), verbose=0).max(-1).mean())
    target = 1 - 0.6 + 0.6 / 3
    assert top[0.0] > 0.9 and abs(top[0.6] - target) < 0.15, top


def test_unknown_weight_scales_the_unknown_class_only():
    base = {0: 2.0, 1: 0.2, 2: 1.0, 3: 3.0}
    assert kws_class_weights(base) == {0: 2.0, 1: 2.0, 2: 1.0, 3: 3.0}
    assert kws_class_weights(base, 1.5) == {0: 2.0, 1: 3.0, 2: 1.0, 3: 3.0}


@pytest.fixture(scope="module")
def tiny_kws(tmp_path_factory):
    from edgernn.data.synth_kws import synth_kws

    return synth_kws(tmp_path_factory.mktemp("d") / "kws", seed=5, per_word=8, unknown_total=16, engines="espeak",
                     keywords="yes,no", progress=False)


def test_unknown_weight_reaches_the_fit(tiny_kws, tmp_path, monkeypatch):
    from edgernn.train import loop

    seen = {}
    real_fit = loop._fit

    def spy_fit(config, ds, progress, callbacks, *rest, **options):
        model, history, seconds = real_fit(config, ds, progress, callbacks, *rest, **options)
        seen.update(config.to_json())
        return model, history, seconds

    used = []
    real_weights = loop.kws_class_weights
    monkeypatch.setattr(loop, "_fit", spy_fit)
    monkeypatch.setattr(loop, "kws_class_weights", lambda w, u=1.0: used.append(u) or real_weights(w, u))
    r = CliRunner().invoke(main, ["train", "--task", "kws", "--units", "4", "--epochs", "1", "--data", str(tiny_kws),
                                  "--out", str(tmp_path / "r"), "--unknown-weight", "2.5", "--lr-schedule", "cosine",
                                  "--label-smoothing", "0.1"])
    assert r.exit_code == 0, r.output
    assert used == [2.5]
    config = json.loads((tmp_path / "r" / "config.json").read_text())
    assert config["unknown_weight"] == 2.5 and config["label_smoothing"] == 0.1
    assert config["recipe"]["lr_schedule"] == "cosine"


@pytest.mark.parametrize("args, message", [
    (["--label-smoothing", "1.0"], "Invalid value for '--label-smoothing'"),
    (["--unknown-weight", "0"], "Invalid value for '--unknown-weight'"),
    (["--lr-schedule", "step"], "Invalid value for '--lr-schedule'"),
])
def test_bad_lever_values_exit_2(tiny_npz, tmp_path, args, message):
    r = CliRunner().invoke(main, ["train", "--task", "classify", "--data", str(tiny_npz), "--out",
                                  str(tmp_path / "r"), *args])
    assert r.exit_code == 2 and message in r.output, r.output
    assert not (tmp_path / "r").exists()


def test_unknown_weight_needs_a_keyword_folder(tiny_npz, tmp_path):
    r = CliRunner().invoke(main, ["train", "--task", "classify", "--data", str(tiny_npz), "--out",
                                  str(tmp_path / "r"), "--unknown-weight", "2", "--epochs", "1"])
    assert r.exit_code == 2 and "--unknown-weight needs --task kws" in r.output
    assert not (tmp_path / "r").exists()
