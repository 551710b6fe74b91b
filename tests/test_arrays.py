"""Safe array reading (issue #30, item 7): every user .npz member is a real .npy file, no pickles, and a
header's shape is checked against the member's bytes before anything is allocated."""
from __future__ import annotations

import io as _io
import pickle
import zipfile

import numpy as np
import pytest
from click.testing import CliRunner

from edgernn.arrays import read_npy, read_npz
from edgernn.cli import main
from edgernn.errors import UserError


def _member(descr: str, shape: tuple, data: bytes, fortran: bool = False) -> bytes:
    buf = _io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": descr, "fortran_order": fortran, "shape": shape})
    return buf.getvalue() + data


def _zip(path, members: dict[str, bytes]):
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


GOOD_Y = _member("<i8", (40,), (np.arange(40) % 2).astype("<i8").tobytes())


@pytest.mark.parametrize("x_member, fragment", [
    (b"just some bytes", "not a .npy array"),
    (pickle.dumps(np.zeros((40, 5, 2))), "not a .npy array"),
    (_member("|O", (40,), pickle.dumps([1] * 40)), "Python objects"),
    (_member("<f4", (10**6, 10**6, 10**3), b"\0" * 64), "more than"),  # 4 PB claimed, 64 bytes held
    (_member("<f4", (40, 5, 2), b"\0" * 100), "but the data is"),  # truncated
    (_member("<f4", (40, 5, 2), b"\0" * 4000), "but the data is"),  # trailing bytes
    (b"\x93NUMPY\x01\x00\x10\x00{'descr': 1}     \n", "not a .npy array"),  # a broken header
])
def test_bad_npz_members_are_one_error_line(tmp_path, x_member, fragment):
    path = _zip(tmp_path / "d.npz", {"X.npy": x_member, "y.npy": GOOD_Y})
    with pytest.raises(UserError, match=fragment):
        read_npz(path)
    r = CliRunner().invoke(main, ["data", "info", str(path)])
    lines = r.output.strip().splitlines()
    assert r.exit_code == 2 and len(lines) == 1 and lines[0].startswith("edgernn: error:"), r.output


def test_members_must_be_npy_files(tmp_path):
    path = _zip(tmp_path / "d.npz", {"X.npy": GOOD_Y, "readme.txt": b"hello"})
    with pytest.raises(UserError, match="not a .npy array"):
        read_npz(path)


def test_good_files_read_as_numpy_writes_them(tmp_path):
    rng = np.random.default_rng(0)
    arrays = {"X": rng.normal(size=(6, 5, 2)).astype(np.float32), "y": np.arange(6), "split": np.array(["train"] * 6),
              "F": np.asfortranarray(rng.normal(size=(3, 4))), "big_endian": np.arange(5, dtype=">i4")}
    for save in (np.savez, np.savez_compressed):
        save(tmp_path / "a.npz", **arrays)
        got = read_npz(tmp_path / "a.npz")
        assert sorted(got) == sorted(arrays)
        for k, v in arrays.items():
            assert got[k].dtype == v.dtype and got[k].flags.writeable
            np.testing.assert_array_equal(got[k], v)
    np.save(tmp_path / "x.npy", arrays["F"])
    np.testing.assert_array_equal(read_npy(tmp_path / "x.npy"), arrays["F"])


def test_split_shaped_as_a_column_is_refused(tmp_path):
    rng = np.random.default_rng(0)
    n = 40
    np.savez(tmp_path / "d.npz", X=rng.normal(size=(n, 5, 2)).astype(np.float32), y=np.arange(n) % 2,
             split=np.array([["train"]] * 30 + [["test"]] * 10))
    r = CliRunner().invoke(main, ["data", "info", str(tmp_path / "d.npz")])
    assert r.exit_code == 2 and "split must be a 1-D array" in r.output and len(r.output.strip().splitlines()) == 1
