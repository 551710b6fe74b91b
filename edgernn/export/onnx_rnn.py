"""Vanilla RNN classifiers as native ONNX ``RNN`` ops.

Why: tf2onnx rewrites Keras GRU/LSTM into ONNX ``GRU``/``LSTM`` but has no rewriter for
SimpleRNN, whose graph therefore comes out as a generic ``Loop`` of MatMul/Add/Tanh. ONNX has an
``RNN`` op with exactly SimpleRNN's maths (``H_t = tanh(X_t W^T + H_{t-1} R^T + Wb + Rb)``), which
onnxruntime runs with one kernel, so edgernn writes that small graph with ``onnx.helper``:

  features [N,T,F] -> Transpose [T,N,F] -> RNN (per layer; Squeeze feeds the next one)
  -> Y_h [1,N,U] -> Squeeze -> MatMul + Add (Dense head) -> Softmax

The caller checks the result against Keras (``export.onnx``), as for every ONNX export.
"""
from __future__ import annotations

import numpy as np


def is_rnn_classifier(model) -> bool:
    """SimpleRNN layers then a Dense softmax head (dropout allowed): what ``rnn_onnx`` can write."""
    kinds = [type(layer).__name__ for layer in model.layers]
    body = [k for k in kinds if k not in ("InputLayer", "Dropout")]
    return (len(body) >= 2 and set(body[:-1]) == {"SimpleRNN"} and body[-1] == "Dense"
            and model.layers[-1].activation.__name__ == "softmax")


def rnn_onnx(model, opset: int = 17):
    """The ONNX ModelProto of a tf_keras SimpleRNN classifier (see ``is_rnn_classifier``)."""
    from onnx import TensorProto, helper, numpy_helper

    steps, feats = model.input_shape[1:]
    init, nodes = [], []

    def const(name, value, dtype=np.float32):
        init.append(numpy_helper.from_array(np.asarray(value, dtype=dtype), name))
        return name

    nodes.append(helper.make_node("Transpose", ["features"], ["x_tnf"], perm=[1, 0, 2]))
    below, axis1, axis0 = "x_tnf", const("axis1", [1], np.int64), const("axis0", [0], np.int64)
    rnns = [layer for layer in model.layers if type(layer).__name__ == "SimpleRNN"]
    for i, layer in enumerate(rnns):
        if layer.activation.__name__ != "tanh" or not layer.use_bias:
            raise ValueError("only SimpleRNN layers with tanh and a bias (the defaults) are supported")
        kernel, recurrent, bias = layer.get_weights()
        units = recurrent.shape[0]
        W, R = const(f"W{i}", kernel.T[None]), const(f"R{i}", recurrent.T[None])
        B = const(f"B{i}", np.concatenate([bias, np.zeros_like(bias)])[None])
        nodes.append(helper.make_node("RNN", [below, W, R, B], [f"Y{i}", f"Yh{i}"], hidden_size=int(units),
                                      activations=["Tanh"], name=layer.name))
        if i < len(rnns) - 1:
            nodes.append(helper.make_node("Squeeze", [f"Y{i}", axis1], [f"seq{i}"]))
            below = f"seq{i}"
    dense = model.layers[-1]
    w, b = dense.get_weights()
    nodes += [helper.make_node("Squeeze", [f"Yh{len(rnns) - 1}", axis0], ["h_last"]),
              helper.make_node("MatMul", ["h_last", const("dense_w", w)], ["logits_nb"]),
              helper.make_node("Add", ["logits_nb", const("dense_b", b)], ["logits"]),
              helper.make_node("Softmax", ["logits"], ["probabilities"], axis=-1)]
    graph = helper.make_graph(
        nodes, "edgernn_rnn_classifier",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["N", int(steps), int(feats)])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", int(w.shape[1])])], init)
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="edgernn")
    from onnx import checker

    checker.check_model(proto)
    return proto
