"""Per-op golden tests: single-op graphs, generated C bit-exact with TFLite Micro (host build; a subset in QEMU).

Each case is one op built with the model builder, chosen to reach the kernel's edge cases: per-tensor
and per-channel weights, requantization shifts of both signs, odd sizes that leave partial 4-row
blocks and padded column groups, several batches.
"""
import numpy as np
import pytest

from edgernn.export.codegen import fixedpoint as P
from edgernn.export.codegen.ops import elementwise, fully_connected
from edgernn.runtimes.native import NativeRuntime
from edgernn.runtimes.tflm import TFLMRuntime
from edgernn.targets import mcu
from edgernn.tflite.builder import ModelBuilder
from tests.conftest import assert_c_matches_tflm


def _fc(rows, cols, batches=1, w_scale=0.02, out_scale=0.1, per_channel=False, seed=0):
    def build(g, rng):
        x = g.tensor("x", [batches, cols], "int8", 0.05, 3)
        scales = rng.uniform(0.2, 5.0, rows) * w_scale if per_channel else w_scale
        w = g.const("w", rng.integers(-127, 128, (rows, cols)), "int8", scales)
        b = g.const("b", rng.integers(-3000, 3000, rows), "int32", np.asarray(scales) * 0.05)
        y = g.tensor("y", [batches, rows], "int8", out_scale, -2)
        g.op("FULLY_CONNECTED", [x, w, b], [y], g.options("FullyConnectedOptions"), "FullyConnectedOptions")
        return x, y
    return build


def _binary(op, s1, s2, so, z=(5, -7, 2), n=37):
    """The generated C has one input: the second operand is a constant (every int8 value appears in it)."""
    def build(g, rng):
        a = g.tensor("a", [1, n], "int8", s1, z[0])
        b = g.const("b", rng.integers(-128, 128, (1, n)), "int8", s2, z[1])
        y = g.tensor("y", [1, n], "int8", so, z[2])
        g.op(op, [a, b], [y])
        return a, y
    return build


def _unary(op, in_q, out_q, shape=(1, 29), options=None):
    def build(g, rng):
        x = g.tensor("x", list(shape), "int8", *in_q)
        y = g.tensor("y", list(shape), "int8", *out_q)
        g.op(op, [x], [y], *(options(g) if options else ()))
        return x, y
    return build


CASES = {
    "fc_per_tensor_right_shift": _fc(5, 7),
    "fc_per_tensor_left_shift": _fc(5, 7, out_scale=0.0004),
    "fc_per_channel_both_shifts": _fc(9, 13, w_scale=0.01, out_scale=0.0006, per_channel=True),
    "fc_partial_block_batches": _fc(6, 10, batches=3),
    "fc_one_row_one_col": _fc(1, 1),
    "add_equal_scales": _binary("ADD", 0.05, 0.05, 0.1),
    "add_second_larger": _binary("ADD", 0.02, 0.07, 0.05),
    "sub_first_larger": _binary("SUB", 0.09, 0.03, 0.04),
    "sub_second_larger": _binary("SUB", 0.03, 0.09, 0.08),
    "mul_right_shift": _binary("MUL", 0.05, 0.04, 0.1),
    "mul_left_shift": _binary("MUL", 0.5, 0.5, 0.1),
    "logistic": _unary("LOGISTIC", (0.06, 4), (1 / 256, -128)),
    "tanh": _unary("TANH", (0.03, -3), (1 / 128, 0)),
    "softmax_rows": _unary("SOFTMAX", (0.07, 1), (1 / 256, -128), shape=(3, 11),
                           options=lambda g: (g.options("SoftmaxOptions", beta=1.0), "SoftmaxOptions")),
}


def single_op_model(path, name, seed=0):
    rng = np.random.default_rng(seed)
    mb = ModelBuilder(name)
    g = mb.subgraph("main")
    ins, out = CASES[name](g, rng)
    g.g.inputs, g.g.outputs = [ins], [out]
    path.write_bytes(mb.to_bytes())
    return path


def test_cases_reach_both_shift_signs():
    """The requantization cases really are on both sides of a unit multiplier."""
    assert fully_connected.requantization(0.05, 3, 0.02, 0.1, -2)["shift"] < 0
    assert fully_connected.requantization(0.05, 3, 0.02, 0.0004, -2)["shift"] > 0
    assert (elementwise.mul_requantization(0.05, 5, 0.04, -7, 0.1, 2)["shift"] < 0
            < elementwise.mul_requantization(0.5, 5, 0.5, -7, 0.1, 2)["shift"])


@pytest.mark.parametrize("name", sorted(CASES))
def test_single_op_is_bit_exact_with_tflm(tmp_path, name):
    model = single_op_model(tmp_path / f"{name}.tflite", name)
    _, outputs = assert_c_matches_tflm(model, 60, seed=1)
    assert len({o.tobytes() for o in outputs}) > 3  # the op's output depends on its input


@pytest.mark.parametrize("name", ["fc_per_channel_both_shifts", "mul_left_shift"])
def test_single_op_is_bit_exact_in_qemu(tmp_path, name):
    model = single_op_model(tmp_path / f"{name}.tflite", name)
    r = mcu.measure(model, "mps2-an386", vectors=6, out=tmp_path / "fw")
    assert r["bit_exact_vs_tflm"] and r["mismatching_vectors"] == 0 and r["vectors"] == 6


def test_identical_constants_are_stored_once(tmp_path):
    """Two ADDs with the same quantization share one 1 KB table; the model stays bit-exact."""
    rng = np.random.default_rng(3)
    mb = ModelBuilder("two adds")
    g = mb.subgraph("main")
    x = g.tensor("x", [1, 16], "int8", 0.05, 1)
    c1 = g.const("c1", rng.integers(-128, 128, (1, 16)), "int8", 0.02, 3)
    c2 = g.const("c2", rng.integers(-128, 128, (1, 16)), "int8", 0.02, 3)
    y1 = g.tensor("y1", [1, 16], "int8", 0.05, 1)
    y2 = g.tensor("y2", [1, 16], "int8", 0.08, -4)
    g.op("ADD", [x, c1], [y1])
    g.op("ADD", [y1, c2], [y2])
    g.g.inputs, g.g.outputs = [x], [y2]
    model = tmp_path / "adds.tflite"
    model.write_bytes(mb.to_bytes())
    from edgernn.export.codegen import generate_c

    source = generate_c(model, tmp_path / "c").read_text()
    assert source.count("static const int32_t addtab") == 1 and source.count("ern_add_s8(&") == 2
    native, ref = NativeRuntime(model), TFLMRuntime(model)
    for x_in in [rng.integers(-128, 128, (1, 16)).astype(np.int8) for _ in range(30)]:
        np.testing.assert_array_equal(native.invoke_raw(x_in), ref.invoke_raw(x_in))
