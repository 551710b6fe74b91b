"""A compact full-integer vanilla (tanh) RNN classifier for TFLite / TFLite Micro, built by hand.

Why: as for the GRU, the converter unrolls a SimpleRNN per time step (the graph grows with the
sequence length), so edgernn writes the int8 graph itself, in the same shape as the GRU's
(``gru_int8``, whose quantization helpers it reuses):

  main:  x int8 [1,T,F] -> RESHAPE [T,F] -> WHILE(cond, body) -> FULLY_CONNECTED (head)
         -> SOFTMAX -> y int8 [1,C]
  cond:  LESS(step, T)
  body:  GATHER the step's input row; per layer: FULLY_CONNECTED x_t (input projection, with the
         bias), FULLY_CONNECTED h (recurrent), ADD, TANH (new h); ADD (step + 1)

As in the GRU graph, the input projection runs per step on the gathered row rather than once on
[T, F] before the loop: only the small input travels as loop state (TFLite Micro copies loop
state between subgraphs), which keeps the arena small; the MACs are the same.

The hidden state needs no extra op to keep one scale around the loop: TANH's int8 output is at
scale 1/128, zero point 0, which is exactly the hidden-state scale ``H_SCALE``.
"""
from __future__ import annotations

import numpy as np

# The loop skeleton and the quantization helpers are the GRU builder's: one graph layout for both cells.
from edgernn.optimize.gru_int8 import (H_SCALE, TANH, _binary, _fully_connected, calibrated_params, loop_classifier,
                                     range_tracker)

assert TANH == (H_SCALE, 0)  # TANH's int8 output is the hidden state's scale: no rescale around the loop


def rnn_weights(model) -> dict:
    """Kernel/recurrent/bias per SimpleRNN layer and the dense head, from a tf_keras classifier."""
    layers, head = [], None
    for layer in model.layers:
        kind = type(layer).__name__
        if kind == "SimpleRNN":
            if layer.activation.__name__ != "tanh" or not layer.use_bias:
                raise ValueError("only SimpleRNN layers with tanh and a bias (the defaults) are supported")
            k, r, b = [w.astype(np.float64) for w in layer.get_weights()]
            layers.append({"kernel": k, "recurrent": r, "bias": b})
        elif kind == "Dense":
            w, b = [w.astype(np.float64) for w in layer.get_weights()]
            head = {"kernel": w, "bias": b}
        elif kind not in ("InputLayer", "Dropout"):
            raise ValueError(f"layer {layer.name} ({kind}) is not supported in the int8 RNN graph")
    if not layers or head is None:
        raise ValueError("the model needs at least one SimpleRNN layer and a Dense head")
    return {"layers": layers, "head": head}


def float_reference(X: np.ndarray, w: dict, keep: int = 0) -> tuple[np.ndarray, dict]:
    """Run the graph in float64; return (softmax probabilities, per-tensor (min, max) ranges);
    ``keep``: values kept per tensor and step for distribution-based calibration (range_tracker)."""
    ranges, seen = range_tracker(keep)

    seen("input", X)
    n, steps, _ = X.shape
    units = w["layers"][0]["recurrent"].shape[0]
    hs = [np.zeros((n, units)) for _ in w["layers"]]
    for t in range(steps):
        below = X[:, t]
        for li, L in enumerate(w["layers"]):
            xp = seen(f"xp{li}", below @ L["kernel"] + L["bias"])
            hp = seen(f"hp{li}", hs[li] @ L["recurrent"])
            hs[li] = np.tanh(seen(f"a{li}", xp + hp))
            below = hs[li]
    logits = seen("logits", hs[-1] @ w["head"]["kernel"] + w["head"]["bias"])
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True), ranges


def build(model, calibration: np.ndarray, method: str = "minmax") -> bytes:
    """int8 .tflite bytes of a tf_keras SimpleRNN classifier; ``calibration`` = standardized inputs;
    ``method``: how ranges are drawn from them (gru_int8.CALIBRATIONS)."""
    w = rnn_weights(model)
    q = calibrated_params(float_reference, calibration, w, method)
    steps, feats = calibration.shape[1:]
    units = w["layers"][0]["recurrent"].shape[0]

    def rnn_layer(body, li, x_t, x_scale, h, L):
        return _rnn_step(body, li, x_t, x_scale, h, L, q, units)

    return loop_classifier(f"edgernn compact int8 RNN: {len(w['layers'])} x {units} units, {steps} steps",
                           w, q, steps, feats, rnn_layer)


def _rnn_step(sg, li, x_t, x_scale, h, L, q, units) -> int:
    """h_new = tanh(x_t W + b + h U): two FULLY_CONNECTEDs, an ADD and a TANH; returns h_new."""
    xp = sg.tensor(f"xp{li}_t", [1, units], "int8", *q[f"xp{li}"])
    _fully_connected(sg, f"proj{li}", x_t, x_scale, L["kernel"], L["bias"], xp)
    hp = sg.tensor(f"hp{li}", [1, units], "int8", *q[f"hp{li}"])
    # The recurrent FULLY_CONNECTED gets an all-zero bias: the layer's one bias is in the projection.
    _fully_connected(sg, f"rec{li}", h, H_SCALE, L["recurrent"], np.zeros(units), hp)
    a, _ = _binary(sg, "ADD", (xp, units), (hp, units), "a", q[f"a{li}"], li)
    h_new = sg.tensor(f"h{li}_next", [1, units], "int8", *TANH)
    sg.op("TANH", [a], [h_new])
    return h_new
