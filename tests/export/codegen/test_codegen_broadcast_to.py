"""BROADCAST_TO in the C generator (the int8 LSTM autoencoder's RepeatVector): single-op graphs bit-exact
with TFLite Micro on the host build, and shapes that do not broadcast refused."""
import numpy as np
import pytest

from edgernn.errors import UserError
from edgernn.export.codegen import generate_c
from edgernn.tflite.builder import ModelBuilder
from tests.conftest import assert_c_matches_tflm


def broadcast_model(path, in_shape, out_shape, shape_const=None):
    mb = ModelBuilder("broadcast_to")
    g = mb.subgraph("main")
    x = g.tensor("x", in_shape, "int8", 0.05, -3)
    y = g.tensor("y", out_shape, "int8", 0.05, -3)
    g.op("BROADCAST_TO", [x, g.const("shape", shape_const or out_shape, "int32")], [y])
    g.g.inputs, g.g.outputs = [x], [y]
    path.write_bytes(mb.to_bytes())
    return path


CASES = {
    "repeat_vector": ([1, 1, 8], [1, 40, 8]),     # the LSTM autoencoder's code vector to every decoder step
    "columns": ([3, 1], [3, 5]),                   # not a whole-input repeat: an index table
    "rank_extension": ([5], [2, 3, 5]),
    "middle_axis_odd": ([2, 1, 3], [2, 7, 3]),
    "identity": ([2, 3], [2, 3]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_broadcast_to_is_bit_exact_with_tflm(tmp_path, name):
    model = broadcast_model(tmp_path / f"{name}.tflite", *CASES[name])
    inputs, outputs = assert_c_matches_tflm(model, 20, seed=2, constants=())
    for x, out in zip(inputs, outputs):
        np.testing.assert_array_equal(out.reshape(CASES[name][1]), np.broadcast_to(x.reshape(CASES[name][0]),
                                                                                  CASES[name][1]))


@pytest.mark.parametrize("in_shape, out_shape, shape_const, message", [
    ([3, 2], [3, 5], None, "does not broadcast"),
    ([1, 4], [3, 4], [3, 5], "is not the output's shape"),
    ([1, 1, 1, 1, 1, 2], [1, 1, 1, 1, 3, 2], None, "not supported"),
])
def test_broadcast_to_contract_refuses(tmp_path, in_shape, out_shape, shape_const, message):
    model = broadcast_model(tmp_path / "b.tflite", in_shape, out_shape, shape_const)
    with pytest.raises(UserError, match=message):
        generate_c(model, tmp_path / "c")
