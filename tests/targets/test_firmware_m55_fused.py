"""Cortex-M55 (QEMU mps3-an547): the fused GRU step and the LSTM gates run on Helium (4 units per vector:
VRMULH requantization, gathered tables) and stay bit-exact with TFLite Micro."""
import re
import subprocess

import pytest

from edgernn import api
from edgernn.targets import mcu


@pytest.fixture(scope="module")
def int8_models(tiny_runs, tmp_path_factory):
    out = tmp_path_factory.mktemp("m55fused")
    return {arch: api.quantize(tiny_runs[arch], mode="int8", calibration_samples=40, out=out / f"{arch}.tflite")
            for arch in ("gru", "lstm")}


def _disassembly(elf: str) -> str:
    return subprocess.run(["arm-none-eabi-objdump", "-d", "-marmv8.1-m.main", elf], capture_output=True, text=True,
                          check=True).stdout


@pytest.mark.parametrize("arch", ["gru", "lstm"])
def test_helium_fused_kernels_are_bit_exact_and_vectorized(int8_models, arch, tmp_path):
    mve = mcu.measure(int8_models[arch], "mps3-an547", vectors=6, out=tmp_path / "mve")
    assert mve["mve_kernels"] and mve["bit_exact_vs_tflm"] and mve["vectors"] == 6
    code = _disassembly(mve["elf"])
    assert "vrmulh.s32" in code  # requant_fast on 4 lanes
    if arch == "gru":
        assert re.search(r"vldrw\.u32\s+q\d+, \[r\d+, q\d+, uxtw #2\]", code)  # ADD tables gathered
        assert re.search(r"vldrb\.[us]32\s+q\d+, \[r\d+, q\d+\]", code)  # sigmoid / tanh tables gathered
        assert "vstrb.32" in code  # 4 units of the new state stored at once


def test_helium_lstm_with_a_partial_block_of_units_is_bit_exact(tiny_data, tmp_path):
    """6 units: the last block of 4 rows has 2 (predicated stores and loads in the Helium LSTM)."""
    run = api.train(task="classify", arch="lstm", units=6, data=tiny_data, out=tmp_path / "run", epochs=2,
                    progress=False)
    model = api.quantize(run, mode="int8", calibration_samples=40)
    r = mcu.measure(model, "mps3-an547", vectors=6, out=tmp_path / "fw")
    assert r["mve_kernels"] and r["bit_exact_vs_tflm"] and r["mismatching_vectors"] == 0
    assert "vrmulh.s32" in _disassembly(r["elf"])
