"""The validating .tflite reader: named types and operands, and crafted models refused cleanly."""
import numpy as np
import pytest

from edgernn.errors import UserError
from edgernn.export.codegen import generate_c
from edgernn.tflite import operands, types
from edgernn.tflite.builder import ModelBuilder
from edgernn.tflite.info import describe
from edgernn.tflite.reader import Graph
from edgernn.tflite.schema import schema


def test_type_table_matches_the_schema():
    names = {v: k for k, v in vars(schema().TensorType).items() if not k.startswith("_")}
    for code, t in types.TYPES.items():
        assert names[code].lower() == t.name
    assert types.INT8 == schema().TensorType.INT8 and types.INT16 == schema().TensorType.INT16


def test_operand_table_follows_tflite_positions():
    assert operands.index("FULLY_CONNECTED", "bias") == 2
    assert operands.index("UNIDIRECTIONAL_SEQUENCE_LSTM", "output_state") == 18
    assert operands.index("UNIDIRECTIONAL_SEQUENCE_LSTM", "cell_state") == 19
    assert operands.index("UNIDIRECTIONAL_SEQUENCE_LSTM", "output_gate_bias") == 15
    assert len(operands.INPUTS["UNIDIRECTIONAL_SEQUENCE_LSTM"]) == 24
    ins = operands.Operands("FULLY_CONNECTED", [4, 5])
    assert (ins.input, ins.weights, ins.bias) == (4, 5, -1)
    with pytest.raises(AttributeError):
        ins.recurrent


def _fc_model(rows=5, cols=7):
    """x int8 [1, cols] -> FULLY_CONNECTED -> y int8 [1, rows]; returns (builder, subgraph, tensor ids)."""
    rng = np.random.default_rng(0)
    mb = ModelBuilder("fc")
    g = mb.subgraph("main")
    x = g.tensor("x", [1, cols], "int8", 0.05, 3)
    w = g.const("w", rng.integers(-127, 128, (rows, cols)), "int8", 0.02)
    b = g.const("b", rng.integers(-500, 500, rows), "int32", 0.05 * 0.02)
    y = g.tensor("y", [1, rows], "int8", 0.1, -2)
    g.op("FULLY_CONNECTED", [x, w, b], [y], g.options("FullyConnectedOptions"), "FullyConnectedOptions")
    g.g.inputs, g.g.outputs = [x], [y]
    return mb, g, dict(x=x, w=w, b=b, y=y)


def _write(mb, path):
    path.write_bytes(mb.to_bytes())
    return path


def test_a_valid_model_reads_with_named_access(tmp_path):
    mb, _, t = _fc_model()
    graph = Graph(_write(mb, tmp_path / "fc.tflite"))
    op = graph.ops(0)[0]
    assert graph.op_name(op) == "FULLY_CONNECTED"
    ins = graph.operands(op)
    assert graph.shape(0, ins.weights) == [5, 7] and graph.const(0, ins.bias).dtype == np.int32
    assert graph.nbytes(0, t["y"]) == 5 and graph.qparams(0, t["y"]) == (pytest.approx(0.1), -2)


CRAFTED = [
    ("output shape blown up", lambda m, t: setattr(m.subgraphs[0].tensors[t["y"]], "shape", [1, 6946828]),
     "output has 6946828 elements"),
    ("negative dimension", lambda m, t: setattr(m.subgraphs[0].tensors[t["x"]], "shape", [1, -7]),
     "negative or huge dimension"),
    ("buffer index out of range", lambda m, t: setattr(m.subgraphs[0].tensors[t["w"]], "buffer", 99),
     "buffer index 99 out of range"),
    ("constant shorter than its shape", lambda m, t: setattr(m.subgraphs[0].tensors[t["w"]], "shape", [6, 7]),
     "constant has 35 bytes"),
    ("op input index out of range", lambda m, t: m.subgraphs[0].operators[0].inputs.__setitem__(1, 1000),
     "input tensor index 1000 out of range"),
    ("opcode index out of range", lambda m, t: setattr(m.subgraphs[0].operators[0], "opcodeIndex", 7),
     "opcode index 7 out of range"),
    ("subgraph output out of range", lambda m, t: m.subgraphs[0].outputs.__setitem__(0, 50),
     "output tensor index 50 out of range"),
    ("weights of the wrong type", lambda m, t: setattr(m.subgraphs[0].tensors[t["b"]], "type", types.INT8),
     "constant has 20 bytes"),
    ("bias of the wrong length", lambda m, t: (setattr(m.subgraphs[0].tensors[t["b"]], "shape", [4]),
                                               setattr(m.buffers[m.subgraphs[0].tensors[t["b"]].buffer], "data",
                                                       np.zeros(16, np.uint8))),
     "bias has 4 elements, needs 5"),
    ("per-channel scales that do not match", lambda m, t: (
        setattr(m.subgraphs[0].tensors[t["w"]].quantization, "scale", [0.1, 0.2, 0.3]),
        setattr(m.subgraphs[0].tensors[t["w"]].quantization, "zeroPoint", [0, 0, 0])),
     "per-channel scales do not match"),
    ("scales without zero points", lambda m, t: setattr(m.subgraphs[0].tensors[t["w"]].quantization, "scale",
                                                         [0.1, 0.2, 0.3, 0.1, 0.1]), "5 scales but 1 zero points"),
    ("non-finite scale", lambda m, t: setattr(m.subgraphs[0].tensors[t["y"]].quantization, "scale", [float("nan")]),
     "non-finite quantization scale"),
    ("zero point out of range", lambda m, t: setattr(m.subgraphs[0].tensors[t["y"]].quantization, "zeroPoint", [300]),
     "zero point out of the int8 range"),
    ("output written in place", lambda m, t: setattr(m.subgraphs[0].operators[0], "outputs", [t["x"]]),
     "both an input and an output"),
    ("output is a constant", lambda m, t: setattr(m.subgraphs[0].operators[0], "outputs", [t["w"]]),
     "is a constant"),
]


@pytest.mark.parametrize("label, craft, message", CRAFTED, ids=[c[0] for c in CRAFTED])
def test_crafted_models_are_refused_with_a_user_error(tmp_path, label, craft, message):
    mb, _, t = _fc_model()
    craft(mb.m, t)
    model = _write(mb, tmp_path / "crafted.tflite")
    with pytest.raises(UserError, match=message):
        generate_c(model, tmp_path / "c")
    assert not (tmp_path / "c" / "model.c").exists()


def test_recursive_subgraphs_are_refused(tmp_path):
    mb = ModelBuilder("loop")
    main, body = mb.subgraph("main"), mb.subgraph("body")
    x = main.tensor("x", [1], "int32")
    y = main.tensor("y", [1], "int32")
    bx = body.tensor("x", [1], "int32")
    by = body.tensor("y", [1], "int32")
    opts = main.options("WhileOptions", condSubgraphIndex=1, bodySubgraphIndex=1)
    main.op("WHILE", [x], [y], opts, "WhileOptions")
    body.op("WHILE", [bx], [by], body.options("WhileOptions", condSubgraphIndex=1, bodySubgraphIndex=1), "WhileOptions")
    main.g.inputs, main.g.outputs, body.g.inputs, body.g.outputs = [x], [y], [bx], [by]
    with pytest.raises(UserError, match="recursively"):
        describe(_write(mb, tmp_path / "loop.tflite"))


def test_truncated_and_foreign_files_are_refused(tmp_path):
    mb, _, _ = _fc_model()
    data = mb.to_bytes()
    (tmp_path / "cut.tflite").write_bytes(data[: len(data) // 2])
    (tmp_path / "text.tflite").write_bytes(b"hello world, not a model")
    for name in ("cut.tflite", "text.tflite"):
        with pytest.raises(UserError):
            describe(tmp_path / name)
