"""A compact full-integer GRU classifier for TFLite / TFLite Micro, built by hand.

Why: TFLite has no GRU op. The converter either unrolls the GRU (the graph repeats for every
time step: ~240 KB for a 15 KB GRU-64) or emits a WHILE loop whose int8 conversion segfaults
(shared notes). So edgernn writes the int8 graph itself:

  main:  x int8 [1,T,F] -> RESHAPE [T,F] -> WHILE(cond, body) -> FULLY_CONNECTED (head)
         -> SOFTMAX -> y int8 [1,C]
  cond:  LESS(step, T)
  body:  GATHER the step's input row, FULLY_CONNECTED x_t (input part) and h (recurrent part),
         SPLIT both into z/r/n, ADD + LOGISTIC (z, r), MUL + ADD + TANH (candidate), SUB, MUL,
         ADD (new h), ADD (step + 1)

Every constant is stored once and the graph does not grow with the sequence length, so the file
is the int8 weights plus ~7 KB. Only the small input [T, F] is loop state (TFLite Micro copies
loop state between subgraphs), which keeps the tensor arena small. Each further layer adds its
own input and recurrent projections to the body.

Quantization (TFLite's int8 scheme, which TFLite Micro checks): weights per-tensor symmetric
int8, biases int32 at input_scale x weight_scale, activations asymmetric int8 with ranges from
a calibration pass of a NumPy float model of exactly this graph; the hidden state h is fixed at
scale 1/128 (it lives in (-1, 1) and must keep one scale around the loop), LOGISTIC outputs
1/256 with zero point -128 and TANH outputs 1/128, as TFLite Micro requires.
"""
from __future__ import annotations

import numpy as np

from edgernn.tflite.builder import ModelBuilder

H_SCALE = 1.0 / 128
SIGMOID = (1.0 / 256, -128)
TANH = (1.0 / 128, 0)
SOFTMAX = (1.0 / 256, -128)


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def gru_weights(model) -> dict:
    """Kernel/recurrent/bias per GRU layer and the dense head, from a tf_keras classifier."""
    layers = []
    for layer in model.layers:
        kind = type(layer).__name__
        if kind == "GRU":
            if not layer.reset_after:
                raise ValueError("only reset_after=True GRUs (the Keras default) are supported")
            k, r, b = [w.astype(np.float64) for w in layer.get_weights()]
            layers.append({"kernel": k, "recurrent": r, "bias_in": b[0], "bias_rec": b[1]})
        elif kind == "Dense":
            w, b = [w.astype(np.float64) for w in layer.get_weights()]
            head = {"kernel": w, "bias": b}
        elif kind not in ("InputLayer", "Dropout"):
            raise ValueError(f"layer {layer.name} ({kind}) is not supported in the int8 GRU graph")
    if not layers:
        raise ValueError("the model has no GRU layer")
    return {"layers": layers, "head": head}


UPDATE_GATES = ("z", "complement")


def with_update_gate(w: dict, update_gate: str) -> dict:
    """The weights dict for the graph's update-gate form. ``z``: as trained, h' = n + z (h - n).
    ``complement``: every GRU layer's z columns (kernel, recurrent kernel, both biases) negated, so the
    gate's LOGISTIC gives u = sigmoid(-a_z) = 1 - z directly, and the step is h' = h + u (n - h).
    Why: TFLite Micro's int8 LOGISTIC has scale 1/256 and zero point -128, so z tops out at 255/256 and
    a unit that holds its state (z -> 1) leaks every step; u = 0 is on the grid. Negation is exact in
    int8 (symmetric weight scales, round half to even), so the graph loses nothing else."""
    if update_gate == "z":
        return w
    if update_gate != "complement":
        raise ValueError(f"unknown update gate {update_gate!r} (choose from {', '.join(UPDATE_GATES)})")

    def negated(L):
        if L.get("complement"):
            return L
        u, out = L["recurrent"].shape[0], dict(L, complement=True)
        for k in ("kernel", "recurrent", "bias_in", "bias_rec"):
            a = np.array(L[k], np.float64)
            a[..., :u] *= -1
            out[k] = a
        return out

    return {k: ([negated(L) for L in v] if k in ("layers", "encoder", "decoder") else v) for k, v in w.items()}


def _new_state(seen, tag, h, gate, cand, L):
    """The state update in float64 with its ranges: h' = n + z (h - n), or with the complement gate
    (``gate`` = u = 1 - z) h' = h + u (n - h). The tensors keep their names (d, zd) in both forms."""
    if L.get("complement"):
        return h + seen(f"zd{tag}", gate * seen(f"d{tag}", cand - h))
    return cand + seen(f"zd{tag}", gate * seen(f"d{tag}", h - cand))


def range_tracker(keep: int = 0, seed: int = 0):
    """(ranges, seen) for calibration: ``seen(name, v)`` widens ``ranges[name]`` = [min, max] by ``v``
    and returns ``v``, so a float reference can record every tensor's range as it computes it.
    ``keep`` > 0: ``seen`` also keeps up to ``keep`` values per call (a seeded random subset) in
    ``ranges.samples[name]``, for the calibration methods that look at the distribution."""
    ranges: dict[str, list[float]] = _Ranges()
    rng = np.random.default_rng(seed)

    def seen(name, v):
        lo, hi = float(np.min(v)), float(np.max(v))
        r = ranges.setdefault(name, [lo, hi])
        r[0], r[1] = min(r[0], lo), max(r[1], hi)
        if keep:
            flat = np.asarray(v, np.float64).reshape(-1)
            if flat.size > keep:
                flat = flat[rng.choice(flat.size, keep, replace=False)]
            ranges.samples.setdefault(name, []).append(flat)
        return v

    return ranges, seen


class _Ranges(dict):
    """The ranges dict, with the kept value samples beside it (not part of the mapping)."""

    def __init__(self):
        super().__init__()
        self.samples: dict[str, list[np.ndarray]] = {}


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
            xp = seen(f"xp{li}", below @ L["kernel"] + L["bias_in"])
            hp = seen(f"hp{li}", hs[li] @ L["recurrent"] + L["bias_rec"])
            xz, xr, xn = np.split(xp, 3, axis=1)
            hz, hr, hn = np.split(hp, 3, axis=1)
            z = sigmoid(seen(f"az{li}", xz + hz))
            r = sigmoid(seen(f"ar{li}", xr + hr))
            cand = np.tanh(seen(f"an{li}", xn + seen(f"rn{li}", r * hn)))
            hs[li] = _new_state(seen, li, hs[li], z, cand, L)
            below = hs[li]
    logits = seen("logits", hs[-1] @ w["head"]["kernel"] + w["head"]["bias"])
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True), ranges


def affine_params(lo: float, hi: float) -> tuple[float, int]:
    """int8 scale and zero point covering [lo, hi] (always including 0, as TFLite does)."""
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    scale = max(hi - lo, 1e-8) / 255.0
    zero_point = int(np.clip(np.round(-128 - lo / scale), -128, 127))
    return scale, zero_point


def symmetric(w: np.ndarray) -> tuple[np.ndarray, float]:
    scale = max(float(np.abs(w).max()), 1e-12) / 127.0
    return np.clip(np.round(w / scale), -127, 127).astype(np.int8), scale


CALIBRATIONS = ("minmax", "percentile", "mse")
PERCENTILE = 99.99  # two-sided: the range keeps all but the 0.01% lowest and 0.01% highest values


def mse_range(v: np.ndarray, lo: float, hi: float, grid: int = 40) -> tuple[float, float]:
    """The [lo', hi'] (a shrink of [lo, hi] by one factor in 1 .. 1/8, always holding 0) whose int8 grid
    gives the smallest mean squared error on the values ``v`` (rounding and clipping together)."""
    best, best_err = (lo, hi), np.inf
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    for f in np.geomspace(1.0, 0.125, grid):
        scale, zp = affine_params(lo * f, hi * f)
        q = np.clip(np.round(v / scale) + zp, -128, 127)
        err = float(np.mean(((q - zp) * scale - v) ** 2))
        if err < best_err:
            best, best_err = (lo * f, hi * f), err
    return best


def choose_range(method: str, lo: float, hi: float, values: np.ndarray | None) -> tuple[float, float]:
    """A tensor's calibrated range by ``method``: minmax (every value seen), percentile (PERCENTILE,
    two-sided) or mse (the least squared error of mse_range)."""
    if method == "minmax" or values is None or values.size == 0:
        return lo, hi
    if method == "percentile":
        return float(np.percentile(values, 100 - PERCENTILE)), float(np.percentile(values, PERCENTILE))
    if method == "mse":
        return mse_range(values, lo, hi)
    raise ValueError(f"unknown calibration {method!r} (choose from {', '.join(CALIBRATIONS)})")


# Kept values per tensor and time step when a method looks at the distribution.
KEEP_PER_STEP = 2000


def calibrated_params(reference, calibration: np.ndarray, w: dict,
                      method: str = "minmax") -> dict[str, tuple[float, int]]:
    """(scale, zero point) per tensor, from the value ranges ``reference`` (a NumPy float model of
    the graph about to be built) sees on the standardized ``calibration`` inputs; ``method`` (one of
    CALIBRATIONS) turns each tensor's values into its range."""
    if method not in CALIBRATIONS:
        raise ValueError(f"unknown calibration {method!r} (choose from {', '.join(CALIBRATIONS)})")
    keep = 0 if method == "minmax" else KEEP_PER_STEP
    _, ranges = reference(calibration.astype(np.float64), w, keep)
    samples = getattr(ranges, "samples", {})
    return {name: affine_params(*choose_range(method, r[0], r[1], np.concatenate(samples[name]) if name in samples else None))
            for name, r in ranges.items()}


def build(model, calibration: np.ndarray, method: str = "minmax", update_gate: str = "z") -> bytes:
    """int8 .tflite bytes of a tf_keras GRU classifier; ``calibration`` = standardized inputs;
    ``method``: how ranges are drawn from them (CALIBRATIONS); ``update_gate``: z or complement
    (with_update_gate)."""
    w = with_update_gate(gru_weights(model), update_gate)
    q = calibrated_params(float_reference, calibration, w, method)
    steps, feats = calibration.shape[1:]
    units = w["layers"][0]["recurrent"].shape[0]

    def gru_layer(body, li, x_t, x_scale, h, L):
        xp = body.tensor(f"xp{li}_t", [1, 3 * units], "int8", *q[f"xp{li}"])
        _fully_connected(body, f"proj{li}", x_t, x_scale, L["kernel"], L["bias_in"], xp)
        h_new = body.tensor(f"h{li}_next", [1, units], "int8", H_SCALE, 0)
        _gru_step(body, li, h, xp, q[f"xp{li}"], L, q, units, h_new)
        return h_new

    return loop_classifier(f"edgernn compact int8 GRU: {len(w['layers'])} x {units} units, {steps} steps",
                           w, q, steps, feats, gru_layer)


def loop_classifier(title: str, w: dict, q: dict, steps: int, feats: int, layer_step) -> bytes:
    """The int8 classifier graph the compact recurrent cells share (GRU here, vanilla RNN in rnn_int8):
    RESHAPE -> WHILE {GATHER x_t, one time step of every layer} -> FULLY_CONNECTED head -> SOFTMAX.

    ``w``: {"layers": [...], "head": {"kernel", "bias"}}; ``q``: (scale, zero point) per calibrated tensor;
    ``layer_step(body, li, x_t, x_scale, h, L)`` adds layer ``li``'s time step to the loop body and
    returns its new hidden state (int8 at H_SCALE, the scale every hidden state keeps around the loop).
    """
    n_layers = len(w["layers"])
    units = w["layers"][0]["recurrent"].shape[0]
    classes = w["head"]["bias"].shape[0]
    mb = ModelBuilder(title)
    main, cond, body = mb.subgraph("main"), mb.subgraph("cond"), mb.subgraph("body")

    # WHILE state, the same in all three subgraphs: step counter, hidden states, the input.
    # Only the small input [T, F] travels through the loop (not its [T, 3U] projection): loop
    # state is copied between subgraphs, so this keeps the tensor arena small.
    def state(sg, prefix):
        ids = [sg.tensor(f"{prefix}step", [1], "int32")]
        ids += [sg.tensor(f"{prefix}h{i}", [1, units], "int8", H_SCALE, 0) for i in range(n_layers)]
        ids.append(sg.tensor(f"{prefix}x", [steps, feats], "int8", *q["input"]))
        return ids

    # main
    x = main.tensor("input", [1, steps, feats], "int8", *q["input"])
    x2 = main.tensor("input_2d", [steps, feats], "int8", *q["input"])
    main.op("RESHAPE", [x, main.const("shape", [steps, feats], "int32")], [x2],
            main.options("ReshapeOptions", newShape=[steps, feats]), "ReshapeOptions")
    init = [main.const("step0", [0], "int32")]
    init += [main.const(f"h{i}_init", np.zeros((1, units)), "int8", H_SCALE, 0) for i in range(n_layers)]
    init.append(x2)
    final = state(main, "final_")
    main.op("WHILE", init, final, main.options("WhileOptions", condSubgraphIndex=1, bodySubgraphIndex=2),
            "WhileOptions")
    logits = main.tensor("logits", [1, classes], "int8", *q["logits"])
    _fully_connected(main, "head", final[-2], H_SCALE, w["head"]["kernel"], w["head"]["bias"], logits)
    y = main.tensor("output", [1, classes], "int8", *SOFTMAX)
    main.op("SOFTMAX", [logits], [y], main.options("SoftmaxOptions", beta=1.0), "SoftmaxOptions")
    main.g.inputs, main.g.outputs = [x], [y]

    # cond: step < T
    c_in = state(cond, "")
    keep = cond.tensor("keep_going", [1], "bool")
    cond.op("LESS", [c_in[0], cond.const("steps", [steps], "int32")], [keep])
    cond.g.inputs, cond.g.outputs = c_in, [keep]

    # body: one time step of every layer
    b_in = state(body, "")
    step, x_all = b_in[0], b_in[-1]
    outs = [body.tensor("next_step", [1], "int32")]
    body.op("ADD", [step, body.const("one", [1], "int32")], [outs[0]],
            body.options("AddOptions", fusedActivationFunction=0), "AddOptions")
    below = body.tensor("x_t", [1, feats], "int8", *q["input"])
    body.op("GATHER", [x_all, step], [below], body.options("GatherOptions", axis=0, batchDims=0), "GatherOptions")
    below_scale = q["input"][0]
    for li, L in enumerate(w["layers"]):
        h_new = layer_step(body, li, below, below_scale, b_in[1 + li], L)
        outs.append(h_new)
        below, below_scale = h_new, H_SCALE
    outs.append(x_all)
    body.g.inputs, body.g.outputs = b_in, outs
    return mb.to_bytes()


def _fully_connected(sg, name, x, x_scale, kernel, bias, out):
    """out = x @ kernel + bias with int8 weights [out, in] and int32 bias."""
    wq, w_scale = symmetric(kernel.T)
    bq = np.round(bias / (x_scale * w_scale)).astype(np.int32)
    wt = sg.const(f"{name}_weights", wq, "int8", w_scale, 0)
    bt = sg.const(f"{name}_bias", bq, "int32", x_scale * w_scale, 0)
    sg.op("FULLY_CONNECTED", [x, wt, bt], [out],
          sg.options("FullyConnectedOptions", fusedActivationFunction=0, keepNumDims=False), "FullyConnectedOptions")


def _binary(sg, op, a, b, name, qparams, li):
    out = sg.tensor(f"{name}{li}", [1, a[1]], "int8", *qparams)
    opts = {"ADD": "AddOptions", "SUB": "SubOptions", "MUL": "MulOptions"}[op]
    sg.op(op, [a[0], b[0]], [out], sg.options(opts, fusedActivationFunction=0), opts)
    return out, a[1]


def _gru_step(sg, li, h, xp, xp_q, L, q, units, h_new):
    hp = sg.tensor(f"hp{li}", [1, 3 * units], "int8", *q[f"hp{li}"])
    _fully_connected(sg, f"rec{li}", h, H_SCALE, L["recurrent"], L["bias_rec"], hp)
    axis = sg.const(f"split_axis{li}", 1, "int32")
    xs = [sg.tensor(f"x{g}{li}", [1, units], "int8", *xp_q) for g in "zrn"]
    hs = [sg.tensor(f"h{g}{li}", [1, units], "int8", *q[f"hp{li}"]) for g in "zrn"]
    sg.op("SPLIT", [axis, xp], xs, sg.options("SplitOptions", numSplits=3), "SplitOptions")
    sg.op("SPLIT", [axis, hp], hs, sg.options("SplitOptions", numSplits=3), "SplitOptions")
    az, _ = _binary(sg, "ADD", (xs[0], units), (hs[0], units), "az", q[f"az{li}"], li)
    ar, _ = _binary(sg, "ADD", (xs[1], units), (hs[1], units), "ar", q[f"ar{li}"], li)
    z = sg.tensor(f"z{li}", [1, units], "int8", *SIGMOID)
    r = sg.tensor(f"r{li}", [1, units], "int8", *SIGMOID)
    sg.op("LOGISTIC", [az], [z])
    sg.op("LOGISTIC", [ar], [r])
    rn, _ = _binary(sg, "MUL", (r, units), (hs[2], units), "rn", q[f"rn{li}"], li)
    an, _ = _binary(sg, "ADD", (xs[2], units), (rn, units), "an", q[f"an{li}"], li)
    cand = sg.tensor(f"cand{li}", [1, units], "int8", *TANH)
    sg.op("TANH", [an], [cand])
    if L.get("complement"):  # z holds u = 1 - z (negated z weights): h' = h + u (n - h)
        d, _ = _binary(sg, "SUB", (cand, units), (h, units), "d", q[f"d{li}"], li)
        zd, _ = _binary(sg, "MUL", (z, units), (d, units), "zd", q[f"zd{li}"], li)
        sg.op("ADD", [h, zd], [h_new], sg.options("AddOptions", fusedActivationFunction=0), "AddOptions")
        return
    d, _ = _binary(sg, "SUB", (h, units), (cand, units), "d", q[f"d{li}"], li)
    zd, _ = _binary(sg, "MUL", (z, units), (d, units), "zd", q[f"zd{li}"], li)
    sg.op("ADD", [cand, zd], [h_new], sg.options("AddOptions", fusedActivationFunction=0), "AddOptions")


# --- anomaly models: next-step predictor and autoencoder, per-step outputs [1, T, C] ---
#
#   predictor:   main: x -> RESHAPE [T,F] -> WHILE(step, h..., x, out) -> RESHAPE [1,T,C]
#                body: as the classifier's, then the head on the top h gives the step's
#                prediction p [1,C], and out <- CONCATENATION(STRIDED_SLICE(out, 1..T), p): a shift
#                register that holds every step's output in order once the loop ends.
#   autoencoder: WHILE 1 (encoder, as the classifier's) -> code = top h; the decoder's input
#                projection of the code is computed once (no TILE / RepeatVector: every decoder
#                step reads the same projection) -> WHILE 2 (decoder steps + head + shift register).
# The output buffer and p share one scale, so CONCATENATION only copies bytes.


def anomaly_weights(model) -> dict:
    """Encoder/decoder GRU layers and the per-step head of a tf_keras anomaly model."""
    enc, dec, head, seen_repeat = [], [], None, False
    for layer in model.layers:
        kind = type(layer).__name__
        if kind == "GRU":
            if not layer.reset_after:
                raise ValueError("only reset_after=True GRUs (the Keras default) are supported")
            k, r, b = [w.astype(np.float64) for w in layer.get_weights()]
            (dec if seen_repeat else enc).append({"kernel": k, "recurrent": r, "bias_in": b[0], "bias_rec": b[1]})
        elif kind == "RepeatVector":
            seen_repeat = True
        elif kind == "TimeDistributed":
            w, b = [w.astype(np.float64) for w in layer.get_weights()]
            head = {"kernel": w, "bias": b}
        elif kind not in ("InputLayer", "Dropout"):
            raise ValueError(f"layer {layer.name} ({kind}) is not supported in the int8 GRU anomaly graph")
    if not enc or head is None:
        raise ValueError("the model is not a GRU anomaly model (GRU layers and a per-step head)")
    return {"encoder": enc, "decoder": dec, "head": head, "kind": "autoencoder" if seen_repeat else "predictor"}


def _cell_float(seen, tag, xp, h, L):
    """One GRU step in float64 (reset_after), recording the ranges the int8 graph needs."""
    hp = seen(f"hp{tag}", h @ L["recurrent"] + L["bias_rec"])
    xz, xr, xn = np.split(xp, 3, axis=1)
    hz, hr, hn = np.split(hp, 3, axis=1)
    z = sigmoid(seen(f"az{tag}", xz + hz))
    r = sigmoid(seen(f"ar{tag}", xr + hr))
    cand = np.tanh(seen(f"an{tag}", xn + seen(f"rn{tag}", r * hn)))
    return _new_state(seen, tag, h, z, cand, L)


def anomaly_float_reference(X: np.ndarray, w: dict, keep: int = 0) -> tuple[np.ndarray, dict]:
    """The anomaly graph in float64: (outputs [N, T, C], per-tensor ranges; ``keep`` as float_reference)."""
    ranges, seen = range_tracker(keep)

    seen("input", X)
    n, steps, _ = X.shape
    units = w["encoder"][0]["recurrent"].shape[0]
    head = w["head"]

    def run_layers(layers, prefix, first_xp, t):
        below = None
        for li, L in enumerate(layers):
            tag = f"{prefix}{li}"
            xp = first_xp(t) if li == 0 else seen(f"xp{tag}", below @ L["kernel"] + L["bias_in"])
            hs[tag] = _cell_float(seen, tag, xp, hs[tag], L)
            below = hs[tag]
        return below

    out = np.zeros((n, steps, head["bias"].shape[0]))
    hs = {f"e{i}": np.zeros((n, units)) for i in range(len(w["encoder"]))}
    hs.update({f"d{i}": np.zeros((n, units)) for i in range(len(w["decoder"]))})
    enc0 = w["encoder"][0]
    for t in range(steps):
        top = run_layers(w["encoder"], "e", lambda t: seen("xpe0", X[:, t] @ enc0["kernel"] + enc0["bias_in"]), t)
        if w["kind"] == "predictor":
            out[:, t] = seen("out", top @ head["kernel"] + head["bias"])
    if w["kind"] == "autoencoder":
        dec0 = w["decoder"][0]
        xpd = seen("xpd0", top @ dec0["kernel"] + dec0["bias_in"])
        for t in range(steps):
            top_d = run_layers(w["decoder"], "d", lambda t: xpd, t)
            out[:, t] = seen("out", top_d @ head["kernel"] + head["bias"])
    return out, ranges


def build_anomaly(model, calibration: np.ndarray, method: str = "minmax", update_gate: str = "z") -> bytes:
    """int8 .tflite bytes of a tf_keras GRU anomaly model (predictor or autoencoder); ``update_gate`` as build."""
    w = with_update_gate(anomaly_weights(model), update_gate)
    q = calibrated_params(anomaly_float_reference, calibration, w, method)
    steps, feats = calibration.shape[1:]
    units = w["encoder"][0]["recurrent"].shape[0]
    chans = w["head"]["bias"].shape[0]
    ae = w["kind"] == "autoencoder"
    mb = ModelBuilder(f"edgernn compact int8 GRU {w['kind']}: {len(w['encoder'])} x {units} units, {steps} steps")
    main = mb.subgraph("main")
    cond1, body1 = mb.subgraph("encoder_cond"), mb.subgraph("encoder_body")
    cond2, body2 = (mb.subgraph("decoder_cond"), mb.subgraph("decoder_body")) if ae else (None, None)

    x = main.tensor("input", [1, steps, feats], "int8", *q["input"])
    x2 = main.tensor("input_2d", [steps, feats], "int8", *q["input"])
    main.op("RESHAPE", [x, main.const("shape", [steps, feats], "int32")], [x2],
            main.options("ReshapeOptions", newShape=[steps, feats]), "ReshapeOptions")
    n_enc, n_dec = len(w["encoder"]), len(w["decoder"])

    def zeros_h(sg, prefix, n):
        return [sg.const(f"{prefix}h{i}_init", np.zeros((1, units)), "int8", H_SCALE, 0) for i in range(n)]

    def buffer0(sg):
        return sg.const("out_init", np.full((steps, chans), q["out"][1]), "int8", *q["out"])

    # loop 1: the encoder (predictor: the whole model, with the output register)
    def state1(sg, p):
        ids = [sg.tensor(f"{p}step", [1], "int32")]
        ids += [sg.tensor(f"{p}h{i}", [1, units], "int8", H_SCALE, 0) for i in range(n_enc)]
        ids.append(sg.tensor(f"{p}x", [steps, feats], "int8", *q["input"]))
        if not ae:
            ids.append(sg.tensor(f"{p}out", [steps, chans], "int8", *q["out"]))
        return ids

    init1 = [main.const("step0", [0], "int32"), *zeros_h(main, "e", n_enc), x2] + ([] if ae else [buffer0(main)])
    final1 = state1(main, "enc_final_")
    main.op("WHILE", init1, final1, main.options("WhileOptions", condSubgraphIndex=1, bodySubgraphIndex=2),
            "WhileOptions")
    _loop_cond(cond1, state1(cond1, ""), steps)
    b = state1(body1, "")
    outs = [_next_step(body1, b[0])]
    below = body1.tensor("x_t", [1, feats], "int8", *q["input"])
    body1.op("GATHER", [b[1 + n_enc], b[0]], [below], body1.options("GatherOptions", axis=0, batchDims=0),
             "GatherOptions")
    outs += _layers(body1, "e", w["encoder"], b[1:1 + n_enc], below, q["input"][0], None, q, units)
    outs.append(b[1 + n_enc])
    if not ae:
        outs.append(_shift_in(body1, b[-1], outs[-2], w["head"], q, steps, chans))
    body1.g.inputs, body1.g.outputs = b, outs

    if not ae:
        result = final1[-1]
    else:  # loop 2: the decoder, fed the same projection of the code at every step
        dec0 = w["decoder"][0]
        xpd = main.tensor("xpd0", [1, 3 * units], "int8", *q["xpd0"])
        _fully_connected(main, "dec_proj0", final1[n_enc], H_SCALE, dec0["kernel"], dec0["bias_in"], xpd)

        def state2(sg, p):
            ids = [sg.tensor(f"{p}step", [1], "int32")]
            ids += [sg.tensor(f"{p}h{i}", [1, units], "int8", H_SCALE, 0) for i in range(n_dec)]
            ids.append(sg.tensor(f"{p}xpd0", [1, 3 * units], "int8", *q["xpd0"]))
            ids.append(sg.tensor(f"{p}out", [steps, chans], "int8", *q["out"]))
            return ids

        init2 = [main.const("dstep0", [0], "int32"), *zeros_h(main, "d", n_dec), xpd, buffer0(main)]
        final2 = state2(main, "dec_final_")
        main.op("WHILE", init2, final2, main.options("WhileOptions", condSubgraphIndex=3, bodySubgraphIndex=4),
                "WhileOptions")
        _loop_cond(cond2, state2(cond2, ""), steps)
        b2 = state2(body2, "")
        outs2 = [_next_step(body2, b2[0])]
        outs2 += _layers(body2, "d", w["decoder"], b2[1:1 + n_dec], None, None, b2[1 + n_dec], q, units)
        outs2.append(b2[1 + n_dec])
        outs2.append(_shift_in(body2, b2[-1], outs2[n_dec], w["head"], q, steps, chans))
        body2.g.inputs, body2.g.outputs = b2, outs2
        result = final2[-1]
    y = main.tensor("output", [1, steps, chans], "int8", *q["out"])
    main.op("RESHAPE", [result, main.const("out_shape", [1, steps, chans], "int32")], [y],
            main.options("ReshapeOptions", newShape=[1, steps, chans]), "ReshapeOptions")
    main.g.inputs, main.g.outputs = [x], [y]
    return mb.to_bytes()


def _loop_cond(cond, inputs, steps):
    keep = cond.tensor("keep_going", [1], "bool")
    cond.op("LESS", [inputs[0], cond.const("steps", [steps], "int32")], [keep])
    cond.g.inputs, cond.g.outputs = inputs, [keep]


def _next_step(body, step):
    nxt = body.tensor("next_step", [1], "int32")
    body.op("ADD", [step, body.const("one", [1], "int32")], [nxt],
            body.options("AddOptions", fusedActivationFunction=0), "AddOptions")
    return nxt


def _layers(body, prefix, layers, hs, below, below_scale, first_xp, q, units):
    """New hidden states of stacked GRU layers for one step; layer 0 reads ``first_xp`` if given
    (the decoder's constant projection) or projects ``below``."""
    new = []
    for li, L in enumerate(layers):
        tag = f"{prefix}{li}"
        if li == 0 and first_xp is not None:
            xp = first_xp
        else:
            xp = body.tensor(f"xp{tag}_t", [1, 3 * units], "int8", *q[f"xp{tag}"])
            _fully_connected(body, f"proj{tag}", below, below_scale, L["kernel"], L["bias_in"], xp)
        h_new = body.tensor(f"h{tag}_next", [1, units], "int8", H_SCALE, 0)
        _gru_step(body, tag, hs[li], xp, q[f"xp{tag}"], L, q, units, h_new)
        new.append(h_new)
        below, below_scale = h_new, H_SCALE
    return new


def _shift_in(body, buf, h_top, head, q, steps, chans):
    """The step's prediction appended to the output register, its oldest row dropped."""
    p = body.tensor("p_t", [1, chans], "int8", *q["out"])
    _fully_connected(body, "head", h_top, H_SCALE, head["kernel"], head["bias"], p)
    tail = body.tensor("out_tail", [steps - 1, chans], "int8", *q["out"])
    body.op("STRIDED_SLICE", [buf, body.const("begin", [1, 0], "int32"), body.const("end", [steps, chans], "int32"),
                              body.const("strides", [1, 1], "int32")], [tail],
            body.options("StridedSliceOptions", beginMask=0, endMask=0, ellipsisMask=0, newAxisMask=0,
                         shrinkAxisMask=0), "StridedSliceOptions")
    nxt = body.tensor("out_next", [steps, chans], "int8", *q["out"])
    body.op("CONCATENATION", [tail, p], [nxt],
            body.options("ConcatenationOptions", axis=0, fusedActivationFunction=0), "ConcatenationOptions")
    return nxt
