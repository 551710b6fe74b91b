"""The learning-rate plateau rule of the training recipe: halvings only from ``min_epochs`` on (the
flat validation loss of a model that has not started to learn halved the rate to ~0 before), and
the learning rate a small classification set gets."""
from __future__ import annotations

import json

import numpy as np
import pytest

from edgernn import api
from edgernn.train.recipe import DEFAULT_LR, KWS_LR, SMALL_SET_LR, make_recipe, plateau_callback


def _rates(val_losses, patience=2, start_epoch=3, lr=1e-2):
    from edgernn.tf import load

    _, keras = load()
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(lr), loss="mse")
    cb = plateau_callback(keras, "val_loss", patience=patience, start_epoch=start_epoch, min_lr=lr / 8)
    cb.set_model(model)
    cb.on_train_begin()
    rates = []
    for epoch, val in enumerate(val_losses):
        cb.on_epoch_end(epoch, {"loss": 1.0, "val_loss": val})
        rates.append(float(keras.backend.get_value(model.optimizer.learning_rate)))
    return rates


def test_no_halving_before_the_start_epoch_then_halving_on_a_plateau():
    rates = _rates([1.0986] * 20, patience=2, start_epoch=6)
    assert rates[:8] == pytest.approx([1e-2] * 8)  # flat from epoch 0, but epochs 0-5 are not watched
    assert rates[8] == pytest.approx(5e-3)  # epochs 6, 7, 8: 2 epochs without a new minimum
    assert min(rates) == pytest.approx(1e-2 / 8)  # never below min_lr


def test_an_improving_monitor_keeps_the_rate():
    assert _rates(np.linspace(1.0, 0.1, 20), start_epoch=0) == pytest.approx([1e-2] * 20)


def test_small_classification_sets_get_the_higher_learning_rate():
    assert make_recipe(30, task="classify")["lr"] == SMALL_SET_LR == 1e-2
    assert make_recipe(1000, task="classify")["lr"] == SMALL_SET_LR
    assert make_recipe(1001, task="classify")["lr"] == DEFAULT_LR == 3e-3
    assert make_recipe(30, task="kws")["lr"] == KWS_LR and make_recipe(30, task="anomaly")["lr"] == DEFAULT_LR
    assert make_recipe(30)["lr"] == DEFAULT_LR
    r = make_recipe(30, task="classify", lr=1e-3)
    assert r["lr"] == 1e-3 and "lr" not in r["derived"]


def test_training_keeps_its_learning_rate_until_min_epochs(tmp_path):
    """Learnable training split, a validation split the model cannot learn (its loss never
    improves much): the old rule halved the rate from epoch patience // 3 on."""
    from edgernn.tf import load

    _, keras = load()
    rng = np.random.default_rng(0)
    y = np.array([0, 1] * 40)
    X = rng.normal(size=(80, 12, 1)).astype(np.float32) + (2 * y - 1)[:, None, None] * 0.8
    X[60:64] = rng.normal(size=(4, 12, 1))  # validation: noise, labels unrelated to it
    split = np.array(["train"] * 60 + ["val"] * 4 + ["test"] * 16)
    np.savez(tmp_path / "d.npz", X=X, y=y, split=split)
    rates = []

    class Record(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            rates.append(float(keras.backend.get_value(self.model.optimizer.learning_rate)))

    run = api.train(task="classify", arch="gru", units=4, data=tmp_path / "d.npz", out=tmp_path / "r", epochs=40,
                    patience=30, lr=1e-2, progress=False, callbacks=[Record()], select="val")
    recipe = json.loads((run / "config.json").read_text())["recipe"]
    assert recipe["min_epochs"] == 10 and recipe["warmup_epochs"] == 5
    plateau = max(2, 30 // 3)
    assert rates[recipe["warmup_epochs"]:recipe["min_epochs"] + plateau] == pytest.approx([1e-2] * 15)
