"""The compact int8 GRU / RNN graphs (``gru_int8``, ``rnn_int8``) simulated in NumPy, tensor by tensor.

Every tensor of the WHILE body is computed in float64 and, if it is in ``quantized``, rounded to its
int8 grid (the scale and zero point ``build`` gives it, clipped to [-128, 127]), so the simulation can
switch the quantization of one tensor at a time on or off. With every tensor quantized it follows the
int8 graph's arithmetic up to the integer kernels' own rounding (TFLite Micro requantizes with fixed
point multipliers, round half away from zero, and its LOGISTIC/TANH are integer approximations): a
prediction or two in a thousand may differ; ``tools/int8_error_by_tensor.py`` reports how many
against TFLite Micro itself.

Names (per layer ``li``): ``input``; ``w_proj{li}``, ``w_rec{li}``, ``w_head`` (int8 weights and their
int32 biases); GRU: ``xp``, ``hp`` (input / recurrent projections), ``az``, ``ar``, ``an``
(pre-activations of the update gate, reset gate and candidate), ``z``, ``r`` (LOGISTIC outputs),
``rn`` (r x hn), ``cand`` (TANH output), ``d`` (h - cand), ``zd`` (z x d), ``h`` (new state); with the
complement update gate (weights from ``gru_int8.with_update_gate``) ``az``/``z`` are the pre-activation and
output of u = 1 - z, ``d`` is cand - h and ``zd`` u x d, as in the graph;
RNN: ``xp``, ``hp``, ``a``, ``h``; then ``logits`` and ``softmax``.
"""
from __future__ import annotations

import numpy as np

from edgernn.optimize.gru_int8 import H_SCALE, SIGMOID, SOFTMAX, TANH, sigmoid, symmetric


def fake_quant(v: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """v rounded to the int8 grid (scale, zero point), clipped to [-128, 127], back in float."""
    q = np.clip(np.round(v / scale) + zero_point, -128, 127)
    return (q - zero_point) * scale


def tensor_names(cell: str, layers: int = 1) -> list[str]:
    per = {"gru": ("w_proj", "w_rec", "xp", "hp", "az", "z", "ar", "r", "rn", "an", "cand", "d", "zd", "h"),
           "rnn": ("w_proj", "w_rec", "xp", "hp", "a", "h")}[cell]
    return ["input"] + [f"{n}{li}" for li in range(layers) for n in per] + ["w_head", "logits", "softmax"]


class Sim:
    """``Sim(w, q, cell)(X, quantized)`` -> (probabilities [N, C], trace {name: float64 values seen}).

    ``w``: the builder's weights dict; ``q``: (scale, zero point) per calibrated tensor, as the builder
    uses them; ``quantized``: the tensor names rounded to int8 (None: all of them).
    """

    def __init__(self, w: dict, q: dict, cell: str):
        self.w, self.q, self.cell = w, q, cell
        self.layers = len(w["layers"])
        self.names = tensor_names(cell, self.layers)

    def _fc(self, x, x_scale, kernel, bias, quantize):
        if not quantize:
            return x @ kernel + bias
        wq, ws = symmetric(kernel.T)
        bq = np.round(bias / (x_scale * ws))
        return x @ (wq.T.astype(np.float64) * ws) + bq * x_scale * ws

    def __call__(self, X: np.ndarray, quantized=None, trace: bool = False):
        on = set(self.names) if quantized is None else set(quantized)
        unknown = on - set(self.names)
        if unknown:
            raise ValueError(f"unknown tensors {sorted(unknown)}; known: {self.names}")
        q = self.q
        seen: dict[str, list] = {}

        def t(name, key, v, qp=None):
            if trace:
                seen.setdefault(name, []).append(v)
            return fake_quant(v, *(qp or q[key])) if name in on else v

        X = t("input", "input", np.asarray(X, np.float64))
        n, steps, _ = X.shape
        units = self.w["layers"][0]["recurrent"].shape[0]
        hs = [np.zeros((n, units)) for _ in range(self.layers)]
        for step in range(steps):
            below, below_scale = X[:, step], q["input"][0]
            for li, L in enumerate(self.w["layers"]):
                h = hs[li]
                if self.cell == "gru":
                    xp = t(f"xp{li}", f"xp{li}", self._fc(below, below_scale, L["kernel"], L["bias_in"], f"w_proj{li}" in on))
                    hp = t(f"hp{li}", f"hp{li}", self._fc(h, H_SCALE, L["recurrent"], L["bias_rec"], f"w_rec{li}" in on))
                    xz, xr, xn = np.split(xp, 3, axis=1)
                    hz, hr, hn = np.split(hp, 3, axis=1)
                    z = t(f"z{li}", "", sigmoid(t(f"az{li}", f"az{li}", xz + hz)), SIGMOID)
                    r = t(f"r{li}", "", sigmoid(t(f"ar{li}", f"ar{li}", xr + hr)), SIGMOID)
                    rn = t(f"rn{li}", f"rn{li}", r * hn)
                    cand = t(f"cand{li}", "", np.tanh(t(f"an{li}", f"an{li}", xn + rn)), TANH)
                    if L.get("complement"):  # z is u = 1 - z (gru_int8.with_update_gate): h' = h + u (n - h)
                        zd = t(f"zd{li}", f"zd{li}", z * t(f"d{li}", f"d{li}", cand - h))
                        h = t(f"h{li}", "", h + zd, (H_SCALE, 0))
                    else:
                        zd = t(f"zd{li}", f"zd{li}", z * t(f"d{li}", f"d{li}", h - cand))
                        h = t(f"h{li}", "", cand + zd, (H_SCALE, 0))
                else:
                    xp = t(f"xp{li}", f"xp{li}", self._fc(below, below_scale, L["kernel"], L["bias"], f"w_proj{li}" in on))
                    hp = t(f"hp{li}", f"hp{li}", self._fc(h, H_SCALE, L["recurrent"], np.zeros(units), f"w_rec{li}" in on))
                    h = t(f"h{li}", "", np.tanh(t(f"a{li}", f"a{li}", xp + hp)), TANH)
                hs[li] = h
                below, below_scale = h, H_SCALE
        head = self.w["head"]
        logits = t("logits", "logits", self._fc(hs[-1], H_SCALE, head["kernel"], head["bias"], "w_head" in on))
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        probs = t("softmax", "", e / e.sum(axis=1, keepdims=True), SOFTMAX)
        return probs, {k: np.stack(v) if k not in ("logits", "softmax", "input") else v[0] for k, v in seen.items()}
