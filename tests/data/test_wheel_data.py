"""Datasets read out of the pinned aeon wheel (edgernn.wheels) and the sets registered from it."""
from __future__ import annotations

import hashlib
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from edgernn import api
from edgernn.cli import main
from edgernn import wheels as wheel_data
from edgernn.errors import UserError

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture()
def fake_wheel(tmp_path, monkeypatch):
    """A small zip standing in for the aeon wheel, pinned to its own hash, in a cache folder of its own."""
    folder = tmp_path / "wheels"
    folder.mkdir()
    path = folder / "aeon-1.6.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("aeon/datasets/data/x/small.csv", "a,b\n1,2\n")
        z.writestr("aeon/datasets/data/x/big.csv", "0" * 5000)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    monkeypatch.setenv(wheel_data.WHEEL_DIR_ENV, str(folder))
    monkeypatch.setitem(wheel_data.PINNED_WHEELS, "aeon", ("1.6.0", path.name, sha))
    monkeypatch.setattr(wheel_data, "_verified", {})
    return path


def test_member_is_read_from_the_cached_wheel(fake_wheel, tmp_path):
    assert wheel_data.read_member("aeon", "aeon/datasets/data/x/small.csv") == b"a,b\n1,2\n"
    out = wheel_data.extract_member("aeon", "aeon/datasets/data/x/small.csv", tmp_path)
    assert out == tmp_path / "small.csv" and out.read_text() == "a,b\n1,2\n"


def test_oversized_or_absent_member_is_refused(fake_wheel):
    with pytest.raises(UserError, match="more than the 1000 allowed"):
        wheel_data.read_member("aeon", "aeon/datasets/data/x/big.csv", max_bytes=1000)
    with pytest.raises(UserError, match="has no member"):
        wheel_data.read_member("aeon", "aeon/datasets/data/x/none.csv")


def test_wheel_with_another_hash_is_refused(fake_wheel, monkeypatch):
    monkeypatch.setitem(wheel_data.PINNED_WHEELS, "aeon", ("1.6.0", fake_wheel.name, "0" * 64))
    with pytest.raises(UserError, match="sha256 differs .* pip download --no-deps"):
        wheel_data.read_member("aeon", "aeon/datasets/data/x/small.csv")


def test_missing_wheel_error_gives_the_fetch_command(tmp_path, monkeypatch):
    monkeypatch.setenv(wheel_data.WHEEL_DIR_ENV, str(tmp_path / "empty"))
    with pytest.raises(UserError) as e:
        wheel_data.wheel_path("aeon")
    assert (f"pip download --no-deps --only-binary=:all: aeon==1.6.0 -d {tmp_path / 'empty'}") in str(e.value)
    assert not wheel_data.has_wheel("aeon")
    # from the CLI: one line, exit 2, and --list still works and says how to fetch the wheel
    r = CliRunner().invoke(main, ["data", "bundled", "ucr135", str(tmp_path / "u.csv")])
    assert r.exit_code == 2 and "pip download" in r.output and "Traceback" not in r.output
    assert not (tmp_path / "u.csv").exists()
    r = CliRunner().invoke(main, ["data", "bundled", "--list"])
    assert r.exit_code == 0 and "ucr135" in r.output and "not downloaded" in r.output


def test_makefile_fetches_the_pinned_wheel_with_its_hash():
    make = (REPO / "Makefile").read_text()
    version, name, sha = wheel_data.PINNED_WHEELS["aeon"]
    assert sha in make and f"aeon=={version}" in make and name in make
    assert re.search(r"^setup:.*\bwheels\b", make, re.M)


# --- the real wheel: `make setup` downloads it, so CI has it ---
needs_wheel = pytest.mark.skipif(not wheel_data.has_wheel("aeon"),
                                 reason=f"aeon wheel not downloaded ({wheel_data.fetch_command('aeon')})")
pytest.importorskip("sktime")


@needs_wheel
def test_ucr_anomaly_series_and_its_known_normal_part(tmp_path):
    a = api.load_bundled("UCR135")
    assert a["series"].shape == (7501, 1)
    # the archive's file name 135_UCR_Anomaly_InternalBleeding16_1200_4187_4199 states these rows
    assert a["train_end"] == api.bundled_train_end("ucr135") == 1200
    assert np.array_equal(np.flatnonzero(a["label"]), np.arange(4187, 4199))
    r = CliRunner().invoke(main, ["data", "bundled", "ucr135", str(tmp_path / "u.csv")])
    assert r.exit_code == 0 and "--train-end 1200" in r.output
    ds = api.load_data(tmp_path / "u.csv", task="anomaly", window=64, train_end=1200)
    test = ds.splits["test"]
    assert test.row0 == 1200 and test.series_labels.sum() == 12  # the anomaly is in the test part


@needs_wheel
def test_daphnet_channels_and_no_labelled_anomaly():
    a = api.load_bundled("daphnet")
    assert a["series"].shape == (7040, 9) and a["channels"][0] == "ankle_horiz_fwd"
    assert a["label"].sum() == 0 and a["train_end"] is None
    assert api.bundled_train_end("daphnet") is None


@needs_wheel
def test_variable_length_gesture_set_from_the_wheel(tmp_path):
    a = api.load_bundled("PickupGestureWiimoteZ")
    assert a["X"].shape == (100, 361, 1) and (a["split"] == "test").sum() == 50
    assert a["lengths"].min() == 29 and a["lengths"].max() == 361
    assert a["class_names"].tolist() == [str(k) for k in range(1, 11)]
    i = int(np.argmin(a["lengths"]))
    assert np.all(a["X"][i, a["lengths"][i]:] == 0)
    r = CliRunner().invoke(main, ["data", "bundled", "pickupgesturewiimotez", str(tmp_path / "p.npz")])
    assert r.exit_code == 0, r.output
    ds = api.load_data(tmp_path / "p.npz")
    assert len(ds.splits["test"]) == 50 and ds.input_shape == (361, 1)


def test_unit_test_set_from_sktime():
    a = api.load_bundled("UnitTest")
    assert a["X"].shape == (42, 24, 1) and (a["split"] == "test").sum() == 22
    assert a["class_names"].tolist() == ["1", "2"]


@needs_wheel
def test_ts_set_from_the_wheel_without_sktime_is_a_one_line_error(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "sktime.datasets", None)  # import now raises ImportError
    r = CliRunner().invoke(main, ["data", "bundled", "PickupGestureWiimoteZ", str(tmp_path / "p.npz")])
    assert r.exit_code == 2 and "pip install 'edgernn[real]'" in r.output and "Traceback" not in r.output
