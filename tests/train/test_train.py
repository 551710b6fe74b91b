"""Training writes complete run folders, learns, and fails cleanly."""
import json

import numpy as np
import pytest
from click.testing import CliRunner

from edgernn import api
from edgernn.cli import main
from edgernn.data.synth_anomaly import synth_anomaly
from edgernn.train.run import load_run, prepare_inputs

RUN_FILES = {"model.keras", "config.json", "metrics.json", "history.json", "train.json", "training_curve.png",
             "confusion_matrix.png"}


@pytest.mark.parametrize("arch", ["gru", "lstm"])
def test_train_classifier_learns_and_writes_run(tiny_npz, tmp_path, arch):
    run = api.train(task="classify", arch=arch, units=8, data=tiny_npz, out=tmp_path / "run", epochs=25,
                    batch_size=16, lr=1e-2, progress=False)
    assert RUN_FILES <= {p.name for p in run.iterdir()}
    metrics = json.loads((run / "metrics.json").read_text())
    config = json.loads((run / "config.json").read_text())
    assert metrics["accuracy"] > 0.8  # chance is 1/3
    assert np.array(metrics["confusion_matrix"]).sum() == 40
    assert config["params"] == config["float32_bytes"] // 4
    model, cfg = load_run(run)
    from edgernn.data import load_dataset
    test = load_dataset(tiny_npz).splits["test"]
    probs = model.predict(prepare_inputs(test.X, cfg), verbose=0)
    assert (probs.argmax(1) == test.y).mean() == pytest.approx(metrics["accuracy"])


def test_same_seed_same_model(tiny_npz, tmp_path):
    a = api.train(task="classify", arch="gru", units=4, data=tiny_npz, out=tmp_path / "a", epochs=2, progress=False)
    b = api.train(task="classify", arch="gru", units=4, data=tiny_npz, out=tmp_path / "b", epochs=2, progress=False)
    for wa, wb in zip(load_run(a)[0].get_weights(), load_run(b)[0].get_weights()):
        np.testing.assert_array_equal(wa, wb)


def test_anomaly_run_sets_threshold_and_auc(tmp_path):
    data = synth_anomaly(tmp_path / "anom", train_seconds=15, val_seconds=6, test_seconds=20)
    run = api.train(task="anomaly", arch="gru", units=8, data=data, out=tmp_path / "run", epochs=3, progress=False)
    config = json.loads((run / "config.json").read_text())
    metrics = json.loads((run / "metrics.json").read_text())
    assert config["threshold"] == metrics["threshold"] > 0
    assert 0.5 < metrics["roc_auc"] <= 1.0
    assert (run / "anomaly_scores.png").is_file()


def test_interrupted_training_leaves_no_run_folder(tiny_npz, tmp_path):
    from edgernn.tf import load

    _, keras = load()

    class Interrupt(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        api.train(task="classify", arch="gru", units=4, data=tiny_npz, out=tmp_path / "run", epochs=5,
                  progress=False, callbacks=[Interrupt()])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.npz"]  # no run, no temp folder


@pytest.mark.parametrize("args, message", [
    (["--arch", "transformer"], "unknown arch 'transformer'"),
    (["--units", "0"], "Invalid value for '--units'"),
    (["--data", "/no/such/place"], "no such file or folder"),
    (["--task", "anomaly"], "task 'anomaly' needs a .csv"),
])
def test_bad_train_inputs_exit_2(tiny_npz, tmp_path, args, message):
    base = ["train", "--task", "classify", "--data", str(tiny_npz), "--out", str(tmp_path / "r"), "--epochs", "1"]
    r = CliRunner().invoke(main, base + args)
    assert r.exit_code == 2, r.output
    assert message in r.output and "Traceback" not in r.output
    assert not (tmp_path / "r").exists()


def test_existing_run_is_not_overwritten(tiny_npz, tmp_path):
    (tmp_path / "r").mkdir()
    r = CliRunner().invoke(main, ["train", "--task", "classify", "--data", str(tiny_npz), "--out", str(tmp_path / "r")])
    assert r.exit_code == 2 and "already exists" in r.output
