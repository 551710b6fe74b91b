"""Real datasets bundled inside the sktime wheel: `edgernn data bundled` and `api.load_bundled`."""
from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from edgernn import api
from edgernn.cli import main

pytest.importorskip("sktime")


def test_list_names_every_dataset():
    r = CliRunner().invoke(main, ["data", "bundled", "--list"])
    assert r.exit_code == 0, r.output
    for name in ("ArrowHead", "JapaneseVowels", "PLAID", "yahoo", "mitdb"):
        assert name in r.output


def test_classification_keeps_archive_test_split_and_stratifies_validation():
    a = api.load_bundled("arrowhead", seed=0, val_fraction=0.2)
    assert a["X"].shape == (36 + 175, 251, 1)
    train, val, test = (a["split"] == s for s in ("train", "val", "test"))
    assert test.sum() == 175 and train.sum() + val.sum() == 36
    assert np.array_equal(np.flatnonzero(test), np.arange(36, 211))  # the archive's test rows, in order
    for k in range(3):  # every class keeps training rows and gives some to validation
        assert np.sum(train & (a["y"] == k)) > 0 and np.sum(val & (a["y"] == k)) > 0
    assert np.all(a["lengths"] == 251)
    b = api.load_bundled("ArrowHead", seed=1)
    assert not np.array_equal(a["split"], b["split"])  # the seed picks the validation rows


def test_variable_length_set_has_lengths_and_data_first():
    a = api.load_bundled("JapaneseVowels")
    lengths = a["lengths"]
    assert lengths.min() == 7 and lengths.max() == a["X"].shape[1] == 29
    assert a["X"].shape[2] == 12
    i = int(np.argmin(lengths))
    assert np.all(a["X"][i, lengths[i]:] == 0) and np.any(a["X"][i, lengths[i] - 1] != 0)
    # numeric class labels keep numeric order
    assert a["class_names"].tolist() == [str(k) for k in range(1, 10)]


def test_written_npz_and_csv_load_with_the_generic_loaders(tmp_path):
    r = CliRunner().invoke(main, ["data", "bundled", "ItalyPowerDemand", str(tmp_path / "ipd.npz")])
    assert r.exit_code == 0, r.output
    ds = api.load_data(tmp_path / "ipd.npz")
    assert ds.task == "classify" and len(ds.splits["test"]) == 1029 and ds.input_shape == (24, 1)
    r = CliRunner().invoke(main, ["data", "bundled", "yahoo", str(tmp_path / "yahoo.csv")])
    assert r.exit_code == 0, r.output
    text = (tmp_path / "yahoo.csv").read_text().splitlines()
    assert text[0] == "data,label" and len(text) == 1001
    assert sum(int(line.rsplit(",", 1)[1]) for line in text[1:]) == 7


@pytest.mark.parametrize("args, message", [
    (["nosuchset", "x.npz"], "unknown bundled dataset"),
    (["yahoo", "y.npz"], "write it to a .csv file"),
    (["GunPoint", "g.csv"], "write it to a .npz file"),
    (["GunPoint"], "need NAME and OUT"),
])
def test_bad_requests_are_one_line_errors(tmp_path, args, message):
    r = CliRunner().invoke(main, ["data", "bundled", *[a if "." not in a else str(tmp_path / a) for a in args]])
    assert r.exit_code == 2 and message in r.output and "Traceback" not in r.output


def test_existing_output_is_not_replaced_without_overwrite(tmp_path):
    out = tmp_path / "g.npz"
    out.write_bytes(b"mine")
    r = CliRunner().invoke(main, ["data", "bundled", "GunPoint", str(out)])
    assert r.exit_code == 2 and out.read_bytes() == b"mine"
