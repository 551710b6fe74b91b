"""The fused int8 GRU step (ops/gru.py -> firmware/runtime/ern_gru_s8.[ch]) against TFLite Micro.

The matcher must find the step in edgernn's GRU WHILE body and replace its 14 ops by one kernel call,
bit-exact with TFLite Micro; where it cannot prove the kernel exact (a state size that is not a
multiple of 4, a requantization requant_fast does not cover) the per-op path runs instead, also exact.
One layer and two stacked layers (the second layer's input is the first one's state), in both update-gate
forms (``quantize --update-gate``: complement, the default, h' = h + u (n - h) with u = 1 - z; and z,
h' = n + z (h - n)); a subset in QEMU."""
import pytest

from edgernn import api
from edgernn.export.codegen import generate_c
from edgernn.export.codegen import fixedpoint as P
from edgernn.targets import mcu
from tests.conftest import assert_c_matches_tflm


def _bit_exact(model, n=60):
    _, outputs = assert_c_matches_tflm(model, n, seed=4)
    assert len({o.tobytes() for o in outputs}) > 5


@pytest.fixture(scope="module")
def gru_models(tiny_data, tiny_runs, tmp_path_factory):
    """int8 GRUs: 8 units (fused; the suite's shared tiny run), 2 layers of 8 (both fused), 6 units (not a
    multiple of 4: per-op). Bit-exactness needs no trained accuracy: two epochs are enough."""
    root = tmp_path_factory.mktemp("gru_step")
    models = {"u8": api.quantize(tiny_runs["gru"], mode="int8", calibration_samples=40, out=root / "u8.tflite"),
              "u8z": api.quantize(tiny_runs["gru"], mode="int8", calibration_samples=40, out=root / "u8z.tflite",
                                  update_gate="z")}
    for name, units, layers in (("u8x2", 8, 2), ("u6", 6, 1)):
        run = api.train(task="classify", arch="gru", units=units, layers=layers, data=tiny_data, out=root / name,
                        epochs=2, progress=False)
        models[name] = api.quantize(run, mode="int8", calibration_samples=40)
        models[name + "z"] = api.quantize(run, mode="int8", calibration_samples=40, out=root / f"{name}z.tflite",
                                          update_gate="z")
    return models


@pytest.mark.parametrize("name,fused_steps", [("u8", 1), ("u8x2", 2), ("u6", 0), ("u8z", 1), ("u8x2z", 2), ("u6z", 0)])
def test_gru_step_is_fused_where_exact_and_bit_exact(gru_models, tmp_path, name, fused_steps):
    model = gru_models[name]
    source = generate_c(model, tmp_path / "c").read_text()
    assert source.count("ern_gru_step_inline(&") == fused_steps
    # the kernel's complement form only where the graph has it (the z form's C is as before the option)
    assert source.count(".complement = 1") == (0 if name.endswith("z") else fused_steps)
    if fused_steps:  # the element-wise ops are gone from the generated code
        assert "ern_add_s8(&" not in source and "ern_mul_s8(&" not in source
    else:
        assert "ern_add_s8(&" in source
    _bit_exact(model)


def test_gru_step_falls_back_when_requantization_is_not_proven(gru_models, tmp_path, monkeypatch):
    model = gru_models["u8"]
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # not the fused build from the cache
    monkeypatch.setattr(P, "fast_requant", lambda *a, **k: (0, 0))
    assert "ern_gru_step_inline" not in generate_c(model, tmp_path / "c").read_text()
    _bit_exact(model)


@pytest.mark.parametrize("name,reference", [("u8x2", False), ("u8x2", True), ("u8x2z", False)])
def test_gru_step_is_bit_exact_in_qemu(gru_models, tmp_path, name, reference):
    r = mcu.measure(gru_models[name], "mps2-an386", vectors=4, reference=reference, out=tmp_path / "fw")
    assert r["bit_exact_vs_tflm"] and r["mismatching_vectors"] == 0
