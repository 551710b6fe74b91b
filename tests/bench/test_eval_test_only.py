"""`eval` on data that holds only test samples: the run's config.json supplies the rest."""
from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from edgernn import api
from edgernn.cli import main
from edgernn.data.speech_commands import load_speech_commands
from edgernn.train.run import load_run, prepare_inputs


def _test_rows(tiny_data, keep_classes):
    with np.load(tiny_data) as z:
        X, y, split = z["X"], z["y"], z["split"]
    rows = (split == "test") & np.isin(y, keep_classes)
    return X[rows], y[rows]


def test_eval_on_an_npz_of_test_rows_with_some_classes(tiny_runs, tiny_data, tmp_path):
    X, y = _test_rows(tiny_data, [0, 1])
    np.savez(tmp_path / "only.npz", X=X, y=y)  # no split, no training rows, class 2 absent
    run = tiny_runs["gru"]
    r = CliRunner().invoke(main, ["eval", str(run / "model.keras"), "--data", str(tmp_path / "only.npz"),
                                  "--out", str(tmp_path / "m.json")])
    assert r.exit_code == 0, r.output
    assert "absent classes" in r.output
    m = json.loads((tmp_path / "m.json").read_text())
    assert m["absent_classes"] == ["2"] and m["samples"] == len(y)
    model, config = load_run(run)
    expected = (model.predict(prepare_inputs(X, config), verbose=0).argmax(1) == y).mean()
    assert m["accuracy"] == pytest.approx(expected)


def test_eval_maps_string_labels_by_the_runs_class_names(tiny_runs, tiny_data, tmp_path):
    X, y = _test_rows(tiny_data, [1, 2])
    np.savez(tmp_path / "s.npz", X=X, y=np.array([str(v) for v in y]))
    m = api.evaluate(tiny_runs["gru"] / "model.keras", data=tmp_path / "s.npz", progress=False)
    assert m["absent_classes"] == ["0"]
    assert np.array(m["confusion_matrix"])[0].sum() == 0 and m["samples"] == len(y)


@pytest.mark.parametrize("labels, message", [
    (lambda n: np.full(n, 7), "label 7 is beyond the run's 3 classes"),
    (lambda n: np.array(["cat"] * n), "are not classes of the run"),
])
def test_eval_labels_the_run_does_not_know_are_errors(tiny_runs, tiny_data, tmp_path, labels, message):
    X, _ = _test_rows(tiny_data, [0])
    np.savez(tmp_path / "bad.npz", X=X, y=labels(len(X)))
    r = CliRunner().invoke(main, ["eval", str(tiny_runs["gru"] / "model.keras"), "--data", str(tmp_path / "bad.npz")])
    assert r.exit_code == 2 and message in r.output, r.output


def test_speech_commands_folder_with_some_words_loads_as_test_only(tmp_path):
    rng = np.random.default_rng(0)
    for word, n in (("yes", 3), ("stop", 2), ("bed", 2)):
        (tmp_path / word).mkdir()
        for i in range(n):
            sf.write(tmp_path / word / f"s{i}_nohash_0.wav", rng.normal(0, 0.1, 16000).astype(np.float32), 16000)
    ds = load_speech_commands(tmp_path, test_only=True, progress=False)
    test = ds.splits["test"]
    names = [ds.class_names[k] for k in test.y]
    assert sorted(names) == ["_unknown_"] * 2 + ["stop"] * 2 + ["yes"] * 3  # no noise folder: no _silence_
    assert len(ds.splits["train"]) == 0 and test.X.shape[1:] == (49, 10)


def test_eval_scores_a_whole_csv_with_the_runs_windows(tmp_path):
    t = np.arange(1500)
    rng = np.random.default_rng(0)

    def write(path, anomaly):
        v = np.sin(2 * np.pi * t / 40) + rng.normal(0, 0.05, len(t))
        lab = np.zeros(len(t), dtype=int)
        if anomaly:
            v[1200:1220], lab[1200:1220] = 2.5, 1
        path.write_text("value,label\n" + "".join(f"{x:.5f},{k}\n" for x, k in zip(v, lab)))

    write(tmp_path / "train.csv", False)
    write(tmp_path / "new.csv", True)
    run = api.train(task="anomaly", arch="gru", units=8, data=tmp_path / "train.csv", out=tmp_path / "r",
                    epochs=4, data_options={"window": 40, "stride": 10}, progress=False)
    m = api.evaluate(run / "model.keras", data=tmp_path / "new.csv", progress=False)
    assert m["samples"] == (1500 - 40) // 10 + 1  # the whole CSV, cut with the run's window and stride
    assert m["events"]["event_rows"] == [[1200, 1219]] and m["events"]["top1_hit"]
    assert m["roc_auc"] > 0.8
