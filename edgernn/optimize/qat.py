"""Quantization-aware fine-tuning of GRU and vanilla-RNN classifiers for edgernn's int8 graphs (issue 29).

tfmot's QAT refuses GRU/LSTM layers, and our int8 GRU/RNN are graphs edgernn builds itself
(``gru_int8``, ``rnn_int8``), so the fake quantization here follows those graphs op for op, in
TensorFlow: the same tensors rounded to int8 with the same scales and zero points (the calibrated
ones of ``calibrated_params``, recomputed from the current weights at every epoch on the same
calibration clips ``quantize`` uses), per-tensor symmetric int8 weights with int32 biases at
input x weight scale, LOGISTIC / TANH outputs on TFLite Micro's fixed grids (1/256 and 1/128) and the
hidden state at 1/128. Rounding passes gradients straight through (the straight-through estimator).

Only the weights change: the int8 model is then built by the same ``build`` as without QAT, so it
runs on TFLite Micro and in the generated C exactly as any other (``edgernn quantize --qat-epochs``).
"""
from __future__ import annotations

import numpy as np

from edgernn.optimize import gru_int8, rnn_int8
from edgernn.optimize.gru_int8 import H_SCALE, SIGMOID, TANH


def _weights_of(model, arch: str) -> dict:
    return gru_int8.gru_weights(model) if arch == "gru" else rnn_int8.rnn_weights(model)


def _set_weights(model, arch: str, w: dict) -> None:
    """Write the fine-tuned float weights back into the tf_keras model (same layer order)."""
    layers = iter(w["layers"])
    for layer in model.layers:
        kind = type(layer).__name__
        if kind == "GRU":
            L = next(layers)
            layer.set_weights([L["kernel"], L["recurrent"], np.stack([L["bias_in"], L["bias_rec"]])])
        elif kind == "SimpleRNN":
            L = next(layers)
            layer.set_weights([L["kernel"], L["recurrent"], L["bias"]])
        elif kind == "Dense":
            layer.set_weights([w["head"]["kernel"], w["head"]["bias"]])


def qat_finetune(model, arch: str, X: np.ndarray, y: np.ndarray, calibration: np.ndarray, epochs: int,
                 lr: float, batch_size: int = 64, method: str = "minmax", class_weights: dict | None = None,
                 seed: int = 0, log=None, update_gate: str = "z"):
    """Fine-tune ``model`` (a tf_keras GRU or SimpleRNN classifier, changed in place) for ``epochs`` with
    the int8 graph's fake quantization; ``X``: standardized training inputs, ``y``: labels;
    ``update_gate`` (GRU): the graph's update-gate form (gru_int8.with_update_gate). The weights train in
    Keras's form; with ``complement`` the forward pass negates their z columns as the graph does and
    follows its state update h' = h + u (n - h)."""
    from edgernn.tf import load, set_seed

    tf, keras = load()
    set_seed(seed)
    if arch not in ("gru", "rnn"):
        raise ValueError(f"QAT covers edgernn's own int8 graphs (gru, rnn), not {arch}")
    complement = arch == "gru" and update_gate == "complement"
    if update_gate not in gru_int8.UPDATE_GATES:
        raise ValueError(f"unknown update gate {update_gate!r}")
    ref = gru_int8.float_reference if arch == "gru" else rnn_int8.float_reference
    w0 = _weights_of(model, arch)
    names = ["kernel", "recurrent"] + (["bias_in", "bias_rec"] if arch == "gru" else ["bias"])
    var = {f"{k}{i}": tf.Variable(L[k].astype(np.float32)) for i, L in enumerate(w0["layers"]) for k in names}
    var["head_kernel"] = tf.Variable(w0["head"]["kernel"].astype(np.float32))
    var["head_bias"] = tf.Variable(w0["head"]["bias"].astype(np.float32))
    n_layers, steps = len(w0["layers"]), X.shape[1]
    units = w0["layers"][0]["recurrent"].shape[0]
    # the graph's z columns: negated with the complement gate (exact in int8: symmetric scales, even rounding)
    sign = tf.constant(np.r_[-np.ones(units), np.ones(2 * units)] if complement else np.ones(3 * units), tf.float32)
    cw = None
    if class_weights:
        cw = tf.constant([class_weights.get(c, 1.0) for c in range(w0["head"]["bias"].shape[0])], tf.float32)

    def fq(x, qp):
        scale, zp = qp  # Python floats (fixed grids) or variables (calibrated, reassigned every epoch)
        q = tf.clip_by_value(tf.round(x / scale) + zp, -128.0, 127.0)
        return x + tf.stop_gradient((q - zp) * scale - x)

    def fc(x, x_scale, kernel, bias):
        ws = tf.stop_gradient(tf.maximum(tf.reduce_max(tf.abs(kernel)), 1e-12) / 127.0)
        kq = kernel + tf.stop_gradient(tf.clip_by_value(tf.round(kernel / ws), -127.0, 127.0) * ws - kernel)
        bs = x_scale * ws
        bq = bias + tf.stop_gradient(tf.round(bias / bs) * bs - bias)
        return tf.matmul(x, kq) + bq

    def current() -> dict:
        v = {k: t.numpy().astype(np.float64) for k, t in var.items()}
        return {"layers": [{k: v[f"{k}{i}"] for k in names} for i in range(n_layers)],
                "head": {"kernel": v["head_kernel"], "bias": v["head_bias"]}}

    def forward(xb, q):
        x = fq(xb, q["input"])
        hs = [tf.zeros([tf.shape(xb)[0], units]) for _ in range(n_layers)]
        for t in range(steps):
            below, below_scale = x[:, t], q["input"][0]
            for i in range(n_layers):
                h = hs[i]
                if arch == "gru":
                    xp = fq(fc(below, below_scale, var[f"kernel{i}"] * sign, var[f"bias_in{i}"] * sign), q[f"xp{i}"])
                    hp = fq(fc(h, H_SCALE, var[f"recurrent{i}"] * sign, var[f"bias_rec{i}"] * sign), q[f"hp{i}"])
                    xz, xr, xn = tf.split(xp, 3, axis=1)
                    hz, hr, hn = tf.split(hp, 3, axis=1)
                    z = fq(tf.sigmoid(fq(xz + hz, q[f"az{i}"])), SIGMOID)  # u = 1 - z with the complement gate
                    r = fq(tf.sigmoid(fq(xr + hr, q[f"ar{i}"])), SIGMOID)
                    cand = fq(tf.tanh(fq(xn + fq(r * hn, q[f"rn{i}"]), q[f"an{i}"])), TANH)
                    if complement:
                        h = fq(h + fq(z * fq(cand - h, q[f"d{i}"]), q[f"zd{i}"]), (H_SCALE, 0))
                    else:
                        h = fq(cand + fq(z * fq(h - cand, q[f"d{i}"]), q[f"zd{i}"]), (H_SCALE, 0))
                else:
                    xp = fq(fc(below, below_scale, var[f"kernel{i}"], var[f"bias{i}"]), q[f"xp{i}"])
                    hp = fq(fc(h, H_SCALE, var[f"recurrent{i}"], tf.zeros([units])), q[f"hp{i}"])
                    h = fq(tf.tanh(fq(xp + hp, q[f"a{i}"])), TANH)
                hs[i] = h
                below, below_scale = h, H_SCALE
        # the head's SOFTMAX stays float in training: its int8 output only rounds the probabilities
        return fq(fc(hs[-1], H_SCALE, var["head_kernel"], var["head_bias"]), q["logits"])

    opt = keras.optimizers.Adam(lr)
    rng = np.random.default_rng(seed)
    history = []
    qv: dict = {}  # calibrated (scale, zero point) as variables: one trace of the step serves every epoch

    spec = [tf.TensorSpec([None, *X.shape[1:]], tf.float32), tf.TensorSpec([None], tf.int32)]

    @tf.function(input_signature=spec)
    def step(xb, yb):
        qc = {k: (s, z) for k, (s, z) in qv.items()}
        with tf.GradientTape() as tape:
            logits = forward(xb, qc)
            loss = keras.losses.sparse_categorical_crossentropy(yb, logits, from_logits=True)
            if cw is not None:
                loss = loss * tf.gather(cw, yb)
            loss = tf.reduce_mean(loss)
        grads = tape.gradient(loss, list(var.values()))
        grads, _ = tf.clip_by_global_norm(grads, 1.0)
        opt.apply_gradients(zip(grads, list(var.values())))
        return loss

    for epoch in range(epochs):
        graph_w = gru_int8.with_update_gate(current(), update_gate) if arch == "gru" else current()
        for k, (sc, zp) in gru_int8.calibrated_params(ref, calibration, graph_w, method).items():
            if k not in qv:
                qv[k] = (tf.Variable(float(sc), dtype=tf.float32), tf.Variable(float(zp), dtype=tf.float32))
            else:
                qv[k][0].assign(float(sc))
                qv[k][1].assign(float(zp))
        order = rng.permutation(len(X))
        losses = []
        for b in range(0, len(X), batch_size):
            idx = order[b:b + batch_size]
            losses.append(float(step(tf.constant(X[idx], tf.float32), tf.constant(y[idx], tf.int32))))
        history.append(float(np.mean(losses)))
        if log:
            log(f"QAT epoch {epoch + 1}/{epochs}: loss {history[-1]:.4f}")
    _set_weights(model, arch, current())
    return history
