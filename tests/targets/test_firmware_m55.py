"""Cortex-M55 (QEMU mps3-an547): the Helium (MVE) kernels are used, bit-exact with TFLite Micro, and cheaper."""
import subprocess

import pytest

from edgernn import api
from edgernn.targets import mcu


@pytest.fixture(scope="module")
def gru_int8(tiny_runs, tmp_path_factory):
    return api.quantize(tiny_runs["gru"], mode="int8", calibration_samples=40,
                        out=tmp_path_factory.mktemp("m55") / "gru.tflite")


def test_helium_kernels_are_bit_exact_and_cheaper(gru_int8, tmp_path):
    mve = mcu.measure(gru_int8, "mps3-an547", vectors=6, out=tmp_path / "mve")
    ref = mcu.measure(gru_int8, "mps3-an547", vectors=6, reference=True, out=tmp_path / "ref")
    assert mve["mve_kernels"] and not ref["mve_kernels"]
    assert mve["bit_exact_vs_tflm"] and ref["bit_exact_vs_tflm"] and mve["vectors"] == 6
    assert mve["instructions_per_inference"] < ref["instructions_per_inference"]
    code = subprocess.run(["arm-none-eabi-objdump", "-d", "-marmv8.1-m.main", mve["elf"]], capture_output=True,
                          text=True, check=True).stdout
    assert "vmlava.s8" in code  # the dot products run on Helium
    ref_code = subprocess.run(["arm-none-eabi-objdump", "-d", "-marmv8.1-m.main", ref["elf"]], capture_output=True,
                              text=True, check=True).stdout
    assert "vmlava" not in ref_code
