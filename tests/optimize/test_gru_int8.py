"""The int8 GRU graph's update-gate forms (optimize/gru_int8.py ``with_update_gate``, issue 29): ``complement``
computes u = 1 - z with the update gate's LOGISTIC on negated z weights and updates h' = h + u (n - h), so a unit
that holds its state (z -> 1) is exact in int8, where the z form's LOGISTIC tops out at 255/256."""
import numpy as np
import pytest

from edgernn.optimize import gru_int8
from edgernn.runtimes.keras import KerasRuntime
from edgernn.runtimes.tflm import TFLMRuntime
from edgernn.tflite.info import describe
from tests.conftest import assert_c_matches_tflm

T, F, U = 30, 2, 4


def test_complement_negates_only_the_update_gate_and_keeps_the_function(tiny_runs):
    model = KerasRuntime(tiny_runs["gru"] / "model.keras").model
    w = gru_int8.gru_weights(model)
    wc = gru_int8.with_update_gate(w, "complement")
    assert gru_int8.with_update_gate(w, "z") is w
    assert gru_int8.with_update_gate(wc, "complement") == wc  # idempotent: not negated twice
    for L, C in zip(w["layers"], wc["layers"]):
        u = L["recurrent"].shape[0]
        assert C["complement"] and not L.get("complement")
        for k in ("kernel", "recurrent", "bias_in", "bias_rec"):
            np.testing.assert_array_equal(C[k][..., :u], -L[k][..., :u])
            np.testing.assert_array_equal(C[k][..., u:], L[k][..., u:])
        # exact in int8: the same scale, every z weight the negated int8 value
        (q, s), (qc, sc) = gru_int8.symmetric(L["kernel"]), gru_int8.symmetric(C["kernel"])
        assert s == sc
        np.testing.assert_array_equal(qc[:, :u], -q[:, :u])
    X = np.random.default_rng(0).normal(0, 1, (16, *model.input_shape[1:]))
    p, ranges = gru_int8.float_reference(X, w)
    pc, ranges_c = gru_int8.float_reference(X, wc)
    np.testing.assert_allclose(pc, p, atol=1e-12)  # the same GRU, written h + (1 - z)(n - h)
    np.testing.assert_allclose(ranges_c["az0"], [-ranges["az0"][1], -ranges["az0"][0]])
    np.testing.assert_allclose(ranges_c["d0"], [-ranges["d0"][1], -ranges["d0"][0]])
    with pytest.raises(ValueError, match="unknown update gate"):
        gru_int8.with_update_gate(w, "one-minus")


def test_both_forms_build_the_same_ops_and_size(tiny_runs):
    model = KerasRuntime(tiny_runs["gru"] / "model.keras").model
    cal = np.random.default_rng(1).normal(0, 1, (40, *model.input_shape[1:]))
    z, c = gru_int8.build(model, cal, update_gate="z"), gru_int8.build(model, cal, update_gate="complement")
    assert z != c and len(z) == len(c)


def _holding_model():
    """A 4-unit GRU that takes its state from the first step (feature 0 is 1 there: z = 0, h = n) and then
    holds it (z pre-activation +12: float z = 0.999994) while feature 1, noise, drives the candidate n."""
    from edgernn.tf import load

    _, keras = load()
    m = keras.Sequential([keras.layers.Input((T, F)), keras.layers.GRU(U), keras.layers.Dense(U, activation="softmax")])
    g = np.random.default_rng(1)
    k, r, b = g.normal(0, 0.1, (F, 3 * U)), g.normal(0, 0.1, (U, 3 * U)), g.normal(0, 0.1, (2, 3 * U))
    r[:, :U] = 0
    k[0, :U], b[0, :U], b[1, :U] = -30, 12, 0
    k[0, 2 * U:] = [0.4, -0.7, 0.9, -0.3]
    k[1, 2 * U:] = [2.0, -2.0, 1.5, -1.5]
    m.layers[0].set_weights([k, r, b])
    m.layers[1].set_weights([np.eye(U) * 4, np.zeros(U)])
    return m


def _inputs(rng, first):
    X = np.zeros((len(first), T, F))
    X[:, 0, 0], X[:, 0, 1] = 1, first
    X[:, 1:, 1] = rng.normal(0, 1, (len(first), T - 1))
    return X


@pytest.mark.parametrize("gate,exact", [("complement", True), ("z", False)])
def test_a_held_unit_ignores_the_candidate_exactly_only_with_the_complement(tmp_path, gate, exact):
    """Two inputs with the same first step and different noise after it: the float GRU's outputs agree to 1e-4
    (z = 0.999994); with the complement gate the int8 model's (TFLite Micro, and the generated C, bit-exact)
    are the same bytes, u = 0 being on the int8 grid; with z they are not (z <= 255/256 and the rounding
    of n + z (h - n) at every step let the noise in)."""
    model, rng = _holding_model(), np.random.default_rng(0)
    first = rng.uniform(-1, 1, 32)
    X1, X2 = _inputs(rng, first), _inputs(rng, first)
    f1, f2 = (model.predict(X.astype(np.float32), verbose=0) for X in (X1, X2))
    assert np.abs(f1 - f2).max() < 1e-4
    path = tmp_path / f"{gate}.tflite"
    path.write_bytes(gru_int8.build(model, np.concatenate([X1, X2]), update_gate=gate))
    rt = TFLMRuntime(path)
    o1, o2 = (np.concatenate([rt.invoke(x[None].astype(np.float32)) for x in X]) for X in (X1, X2))
    same = int((o1 == o2).all(axis=1).sum())
    assert (same == len(first)) if exact else (same < len(first) // 2)
    assert np.abs(o1 - f1).max() < 0.2
    assert describe(path)["ops"].get("LOGISTIC") == 2
    assert_c_matches_tflm(path, 20, seed=5)
