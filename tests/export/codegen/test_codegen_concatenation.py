"""CONCATENATION in the C generator: single-op graphs bit-exact with TFLite Micro (host build, one in QEMU),
and the quantizations / shapes TFLite Micro refuses are refused by the generator's contract too."""
import numpy as np
import pytest

from edgernn.errors import UserError
from edgernn.export.codegen import generate_c
from edgernn.runtimes.tflm import TFLMRuntime
from edgernn.targets import mcu
from edgernn.tflite.builder import ModelBuilder
from tests.conftest import assert_c_matches_tflm

Q = (0.05, -3)


def concat_model(path, shapes, axis, variable=0, q_inputs=None, q_out=Q, activation=0, dtype="int8", seed=0):
    """One CONCATENATION of inputs of ``shapes`` on ``axis``; input ``variable`` is the model's input, the
    others are constants holding random bytes (the generated C has one input)."""
    rng = np.random.default_rng(seed)
    mb = ModelBuilder("concatenation")
    g = mb.subgraph("main")
    ins = []
    for k, s in enumerate(shapes):
        q = (q_inputs or [Q] * len(shapes))[k]
        if k == variable:
            x = g.tensor("x", list(s), dtype, *q)
            ins.append(x)
        else:
            ins.append(g.const(f"c{k}", rng.integers(-128, 128, s), dtype, *q))
    out_shape = list(shapes[0])
    out_shape[axis] = sum(s[axis] for s in shapes)
    y = g.tensor("y", out_shape, dtype, *q_out)
    g.op("CONCATENATION", ins, [y], g.options("ConcatenationOptions", axis=axis, fusedActivationFunction=activation),
         "ConcatenationOptions")
    g.g.inputs, g.g.outputs = [x], [y]
    path.write_bytes(mb.to_bytes())
    return path


CASES = {
    "two_inputs_last_axis": ([[1, 3], [1, 5]], 1, 0),
    "three_inputs_axis0_odd_rows": ([[2, 3], [1, 3], [5, 3]], 0, 1),
    "middle_axis_3d_outer_blocks": ([[3, 2, 5], [3, 1, 5], [3, 4, 5]], 1, 2),
    "negative_axis_3d": ([[2, 3, 5], [2, 3, 2]], -1, 1),
    "shift_register_rows": ([[39, 1], [1, 1]], 0, 0),  # the GRU anomaly graphs' output register
    "one_input": ([[2, 7]], 1, 0),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_concatenation_is_bit_exact_with_tflm(tmp_path, name):
    shapes, axis, variable = CASES[name]
    model = concat_model(tmp_path / f"{name}.tflite", shapes, axis, variable)
    inputs, outputs = assert_c_matches_tflm(model, 20, seed=1, constants=(-128, 127))
    assert len({o.tobytes() for o in outputs}) == len(inputs)  # every input byte reaches the output


def test_concatenation_is_bit_exact_in_qemu(tmp_path):
    model = concat_model(tmp_path / "c.tflite", *CASES["middle_axis_3d_outer_blocks"])
    r = mcu.measure(model, "mps2-an386", vectors=4, out=tmp_path / "fw")
    assert r["bit_exact_vs_tflm"] and r["mismatching_vectors"] == 0 and r["vectors"] == 4


REFUSED = {
    "unequal_scales": (dict(q_inputs=[Q, (0.1, -3)]), "only equal quantization"),
    "unequal_zero_points": (dict(q_inputs=[(0.05, 4), Q]), "only equal quantization"),
    "output_quantized_differently": (dict(q_out=(0.05, 0)), "only equal quantization"),
    "fused_relu": (dict(activation=1), "fused activation"),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_concatenation_tflite_micro_refuses_is_refused(tmp_path, name):
    kwargs, message = REFUSED[name]
    model = concat_model(tmp_path / "c.tflite", [[1, 3], [1, 5]], 1, **kwargs)
    with pytest.raises(UserError, match=message):
        generate_c(model, tmp_path / "c")
    with pytest.raises(UserError, match="TFLite Micro cannot"):  # the generator refuses what TFLite Micro does
        TFLMRuntime(model)


def test_concatenation_shape_and_type_errors_are_refused(tmp_path):
    for shapes, axis, message in (([[1, 3], [2, 5]], 1, "does not match output shape"),
                                  ([[1, 3], [1, 5, 1]], 1, "does not match output shape"),
                                  ([[1, 3], [1, 5]], 2, "axis 2 out of range")):
        model = tmp_path / "c.tflite"
        mb = ModelBuilder("bad concatenation")
        g = mb.subgraph("main")
        x = g.tensor("x", shapes[0], "int8", *Q)
        c = g.const("c", np.zeros(shapes[1]), "int8", *Q)
        y = g.tensor("y", [1, 8], "int8", *Q)
        g.op("CONCATENATION", [x, c], [y], g.options("ConcatenationOptions", axis=axis), "ConcatenationOptions")
        g.g.inputs, g.g.outputs = [x], [y]
        model.write_bytes(mb.to_bytes())
        with pytest.raises(UserError, match=message):
            generate_c(model, tmp_path / "c")
    model = concat_model(tmp_path / "i32.tflite", [[1, 3], [1, 5]], 1, dtype="int32")
    with pytest.raises(UserError, match="needs int8|int8 input and output"):
        generate_c(model, tmp_path / "c")
