"""The one-SMMULR requantization (ern_support.h ern_requant_fast) and the general paths it replaces.

The generator sets a kernel's fast flag only where it proves requant_fast exact; these tests check the
shortcut against TFLite's definition, that the generator does take it on ordinary models, and that the
general paths (compiled only for models that need them) stay bit-exact with TFLite Micro."""
import ctypes
import subprocess

import numpy as np
import pytest

from edgernn import api
from edgernn.export.codegen import generate_c, runtime_dir
from edgernn.export.codegen import fixedpoint as P
from edgernn.export.codegen.ops import lstm as L
from tests.conftest import assert_c_matches_tflm
from tests.export.codegen.test_codegen_ops import single_op_model


def test_requant_fast_equals_tflite_requantization(tmp_path):
    src = tmp_path / "shim.c"
    src.write_text('#include "ern_support.h"\n'
                   "int32_t shim(int32_t x, int32_t m, int32_t round, int e) { return ern_requant_fast(2 * x, m, round, e); }\n")
    lib_path = tmp_path / "shim.so"
    subprocess.run(["gcc", "-std=c99", "-O2", "-shared", "-fPIC", "-I", str(runtime_dir()), "-o", str(lib_path),
                    str(src)], check=True)
    lib = ctypes.CDLL(str(lib_path))
    lib.shim.restype = ctypes.c_int32
    lib.shim.argtypes = [ctypes.c_int32, ctypes.c_int32, ctypes.c_int32, ctypes.c_int]
    rng = np.random.default_rng(5)
    checked = 0
    for i in range(6000):
        e = int(rng.integers(1, 32))
        offset = int(rng.integers(-128, 128)) if i % 2 else 0
        bound = int(rng.choice([2**8, 2**16, 2**24, 2**30 - 1]))
        x = int(rng.integers(-bound, bound + 1)) if i % 7 else int(rng.choice([-bound, bound, -1, 0, 1]))
        m = int(rng.choice([2**30, 2**31 - 1, int(rng.integers(2**30, 2**31))]))
        fast, round_ = P.fast_requant(bound, -e, offset)
        if fast:
            assert lib.shim(x, m, round_, e) == P.mbqm(x, m, -e) + offset, (x, m, e, offset)
            checked += 1
    assert checked > 3000
    assert P.fast_requant(2**30, -3) == (0, 0) and P.fast_requant(100, 2) == (0, 0)  # out of its range


def _bit_exact(model, n=40):
    assert_c_matches_tflm(model, n, seed=2)


def _without_fast(monkeypatch, tmp_path):
    """The generator as if no bound held; a private native cache so the normal build is not reused."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(P, "fast_requant", lambda *a, **k: (0, 0))
    original = L.fast_fields
    monkeypatch.setattr(L, "fast_fields", lambda *a: {**original(*a), "fast": 0})


@pytest.mark.parametrize("name", ["fc_per_tensor_right_shift", "add_equal_scales", "sub_second_larger",
                                  "mul_right_shift"])
def test_single_ops_take_the_fast_path_and_the_general_one_stays_exact(tmp_path, monkeypatch, name):
    model = single_op_model(tmp_path / f"{name}.tflite", name)
    assert ".fast = 1" in generate_c(model, tmp_path / "c").read_text()
    _without_fast(monkeypatch, tmp_path)
    assert ".fast = 0" in generate_c(model, tmp_path / "c0").read_text()
    _bit_exact(model)


@pytest.fixture(scope="module")
def lstm_model(tiny_runs):
    return api.quantize(tiny_runs["lstm"], mode="int8", calibration_samples=40)


def test_lstm_fast_and_general_paths_are_bit_exact(lstm_model, tmp_path, monkeypatch):
    out = generate_c(lstm_model, tmp_path / "c")
    assert ".fast = 1" in out.read_text() and "#define ERN_LSTM_GENERAL 0" in (out.parent / "edgernn_rt.c").read_text()
    _bit_exact(lstm_model)
    _without_fast(monkeypatch, tmp_path)
    out = generate_c(lstm_model, tmp_path / "c0")
    assert "#define ERN_LSTM_GENERAL 1" in (out.parent / "edgernn_rt.c").read_text()
    _bit_exact(lstm_model)
