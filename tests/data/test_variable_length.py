"""Variable-length sequences: npz `lengths` / NaN padding, pre-padding, standardization ignoring padding."""
from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from edgernn.cli import main
from edgernn.records import InputNorm, RunConfig
from edgernn.data.npz import load_npz
from edgernn.train.run import input_norm, prepare_inputs


def _ragged(tmp_path, how: str):
    """6 rows of lengths 2..7 in T=8 steps, data first; padding as ``how`` says."""
    rng = np.random.default_rng(0)
    lengths = np.array([2, 3, 4, 5, 6, 7])
    X = np.full((6, 8, 2), 99.0 if how == "lengths" else np.nan, dtype=np.float32)
    for i, n in enumerate(lengths):
        X[i, :n] = rng.normal(5.0, 2.0, (n, 2))
    y = np.array([0, 1, 0, 1, 0, 1])
    split = np.array(["train", "train", "val", "train", "test", "train"])
    path = tmp_path / f"{how}.npz"
    extra = {"lengths": lengths} if how == "lengths" else {}
    np.savez(path, X=X, y=y, split=split, **extra)
    return path, X, lengths


@pytest.mark.parametrize("how", ["lengths", "nan"])
def test_sequences_are_pre_padded_with_the_data_kept_in_order(tmp_path, how):
    path, X, lengths = _ragged(tmp_path, how)
    ds = load_npz(path)
    assert ds.meta["padding"] == "pre" and ds.meta["min_length"] == 2 and ds.meta["max_length"] == 7
    train = ds.splits["train"].X  # rows 0, 1, 3, 5
    for row, i in zip(train, [0, 1, 3, 5]):
        n = lengths[i]
        assert np.all(np.isnan(row[:8 - n])), "padding must come before the data"
        assert np.array_equal(row[8 - n:], X[i, :n]), "the sequence ends on the last step"


def test_nan_padding_before_the_data_is_accepted_too(tmp_path):
    X = np.full((4, 5, 1), np.nan, dtype=np.float32)
    X[0, 2:] = 1.0
    X[1, :3] = 2.0
    X[2] = 3.0
    X[3, 1:4] = 4.0
    np.savez(tmp_path / "d.npz", X=X, y=np.array([0, 1, 0, 1]), split=np.array(["train"] * 2 + ["test"] * 2))
    ds = load_npz(tmp_path / "d.npz")
    assert np.array_equal(ds.splits["train"].X[1, :, 0], [np.nan, np.nan, 2.0, 2.0, 2.0], equal_nan=True)
    assert np.array_equal(ds.splits["test"].X[1, :, 0], [np.nan, np.nan, 4.0, 4.0, 4.0], equal_nan=True)


def test_standardization_ignores_padding_and_padding_reaches_the_model_as_zero(tmp_path):
    path, X, lengths = _ragged(tmp_path, "lengths")
    ds = load_npz(path)
    norm = input_norm(ds.splits["train"].X)
    real = np.concatenate([X[i, :lengths[i]] for i in [0, 1, 3, 5]]).astype(np.float64)
    assert np.allclose(norm["mean"], real.mean(axis=0), atol=1e-5)
    assert np.allclose(norm["std"], real.std(axis=0), atol=1e-5)  # the 99.0 fill is not data
    # only the fields standardization reads (model_construct: no whole-run validation for a unit test)
    config = RunConfig.model_construct(input_norm=InputNorm(**norm), input_shape=[8, 2])
    Z = prepare_inputs(ds.splits["train"].X, config)
    assert np.isfinite(Z).all()
    assert np.all(Z[0, :6] == 0) and np.all(Z[0, 6:] != 0)


@pytest.mark.parametrize("lengths, message", [
    (np.array([2, 3, 4]), "lengths must be 6 integers"),
    (np.array([2, 3, 4, 5, 6, 9]), "lengths[5] = 9 is inconsistent with X"),
    (np.array([0, 3, 4, 5, 6, 7]), "lengths[0] = 0 is inconsistent with X"),
    (np.array([2.5, 3, 4, 5, 6, 7]), "lengths must be 6 integers"),
    (np.array(["a"] * 6), "lengths must be 6 integers"),
])
def test_lengths_inconsistent_with_x_is_a_one_line_error(tmp_path, lengths, message):
    path = tmp_path / "bad.npz"
    np.savez(path, X=np.zeros((6, 8, 2), np.float32), y=np.array([0, 1] * 3), lengths=lengths)
    r = CliRunner().invoke(main, ["data", "info", str(path)])
    assert r.exit_code == 2, r.output
    assert message in r.output and "Traceback" not in r.output


@pytest.mark.parametrize("edit, message", [
    (lambda X: X.__setitem__((0, 3, 0), np.nan), "partly NaN"),
    (lambda X: X.__setitem__((1, 3), np.nan), "NaN steps inside the sequence"),
    (lambda X: X.__setitem__((2, slice(None)), np.nan), "all padding"),
    (lambda X: X.__setitem__((0, 0, 0), np.inf), "contains inf"),
])
def test_nan_in_the_wrong_place_is_refused(tmp_path, edit, message):
    X = np.ones((6, 8, 2), np.float32)
    edit(X)
    np.savez(tmp_path / "bad.npz", X=X, y=np.array([0, 1] * 3))
    r = CliRunner().invoke(main, ["data", "info", str(tmp_path / "bad.npz")])
    assert r.exit_code == 2 and message in r.output, r.output
