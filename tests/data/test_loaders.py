"""The .npz and CSV loaders and the built-in anomaly data."""
import hashlib

import numpy as np
import pytest
from click.testing import CliRunner

from edgernn.cli import main
from edgernn.data import load_dataset
from edgernn.data.synth_anomaly import KINDS, synth_anomaly
from edgernn.errors import UserError


@pytest.fixture(scope="module")
def anomaly(tmp_path_factory):
    return synth_anomaly(tmp_path_factory.mktemp("a") / "anom", seed=1, train_seconds=12, val_seconds=6,
                         test_seconds=20)


def test_npz_with_explicit_split(tiny_npz):
    ds = load_dataset(tiny_npz)
    assert ds.task == "classify" and ds.class_names == ["0", "1", "2"]
    assert [len(ds.splits[s]) for s in ("train", "val", "test")] == [160, 40, 40]
    assert ds.input_shape == (12, 4)


def test_npz_without_split_is_stratified_and_seeded(tmp_path):
    rng = np.random.default_rng(0)
    y = np.repeat(["cat", "dog"], 50)
    np.savez(tmp_path / "d.npz", X=rng.normal(size=(100, 5, 2)), y=y)
    a, b = load_dataset(tmp_path / "d.npz"), load_dataset(tmp_path / "d.npz")
    assert a.class_names == ["cat", "dog"]
    assert np.bincount(a.splits["test"].y).tolist() == [5, 5]
    np.testing.assert_array_equal(a.splits["train"].X, b.splits["train"].X)


@pytest.mark.parametrize("arrays, message", [
    ({"X": np.zeros((10, 5)), "y": np.zeros(10)}, "must be 3-D"),
    ({"X": np.zeros((10, 5, 2)), "y": np.zeros(9)}, "one label per row"),
    ({"X": np.zeros((10, 5, 2))}, "missing array 'y'"),
    ({"X": np.full((10, 5, 2), np.nan), "y": np.zeros(10)}, "NaN"),
    ({"X": np.zeros((4, 5, 2)), "y": np.array([0, 1, 0, 1]), "split": np.array(["train", "test", "test", "x"])},
     "unknown split"),
    ({"X": np.zeros((4, 5, 2)), "y": np.array([0, 1, 0, 1]), "split": np.array(["train", "test", "train", "test"])},
     "no training samples: 1"),
])
def test_npz_bad_shapes_are_user_errors(tmp_path, arrays, message):
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(UserError, match=message):
        load_dataset(tmp_path / "bad.npz")


def test_not_an_npz(tmp_path):
    (tmp_path / "x.npz").write_text("hello")
    r = CliRunner().invoke(main, ["data", "info", str(tmp_path / "x.npz")])
    assert r.exit_code == 2 and "not a readable .npz" in r.output


def test_anomaly_files_and_labels(anomaly):
    header = (anomaly / "test.csv").read_text().splitlines()[0]
    assert header == "time,accel_x,accel_y,current,label,anomaly_kind"
    test = (anomaly / "test.csv").read_text()
    assert all(f",{k}\n" in test for k in KINDS)
    for name in ("train.csv", "val.csv"):
        labels = [line.split(",")[4] for line in (anomaly / name).read_text().splitlines()[1:]]
        assert set(labels) == {"0"}


def test_anomaly_is_deterministic(anomaly, tmp_path):
    again = synth_anomaly(tmp_path / "again", seed=1, train_seconds=12, val_seconds=6, test_seconds=20)
    for f in ("train.csv", "val.csv", "test.csv"):
        assert hashlib.sha256((again / f).read_bytes()).digest() == hashlib.sha256((anomaly / f).read_bytes()).digest()


def test_csv_windows(anomaly):
    ds = load_dataset(anomaly, window=32, stride=16)
    assert ds.task == "anomaly" and ds.meta["channels"] == ["accel_x", "accel_y", "current"]
    assert ds.splits["train"].X.shape[1:] == (32, 3)
    assert set(np.unique(ds.splits["train"].y)) == {0} and set(np.unique(ds.splits["val"].y)) == {0}
    assert 0 < ds.splits["test"].y.mean() < 1


def test_single_csv_is_split_by_time(tmp_path):
    n = 1000
    rows = ["t,a,b,label"] + [f"{i},{np.sin(i / 5):.3f},{i % 7},{int(900 <= i < 950)}" for i in range(n)]
    (tmp_path / "s.csv").write_text("\n".join(rows) + "\n")
    ds = load_dataset(tmp_path / "s.csv", window=20, stride=10)
    assert ds.meta["channels"] == ["a", "b"]
    assert ds.splits["test"].y.sum() > 0 and ds.splits["train"].y.sum() == 0
    assert len(ds.splits["train"]) > len(ds.splits["test"])


@pytest.mark.parametrize("cell, message", [("nan", "NaN/inf"), ("abc", "'abc' is not a number")])
def test_csv_bad_values_name_row_and_column(tmp_path, cell, message):
    rows = ["time,a,b"] + [f"{i},{i},{i}" for i in range(200)]
    rows[51] = f"50,{cell},1"
    (tmp_path / "bad.csv").write_text("\n".join(rows) + "\n")
    r = CliRunner().invoke(main, ["data", "info", str(tmp_path / "bad.csv")])
    assert r.exit_code == 2
    assert message in r.output and "row 52" in r.output and "'a'" in r.output


def test_csv_too_short(tmp_path):
    (tmp_path / "s.csv").write_text("a,b\n1,2\n3,4\n")
    with pytest.raises(UserError, match="fewer than one window"):
        load_dataset(tmp_path / "s.csv")
