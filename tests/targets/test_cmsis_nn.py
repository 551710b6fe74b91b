"""CMSIS-NN side by side (edgernn/targets/cmsis_nn.py, tools/bench_mcu.py --cmsis-nn).

Without a CMSIS-NN tree: the pin refuses another tree with one error line, and the parameters come
out of the .tflite as TFLite Micro's CMSIS-NN kernels compute them. With EDGERNN_CMSIS_NN naming a
checkout of the pinned commit: the firmware builds and runs in QEMU (slow)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from edgernn.errors import UserError
from edgernn.targets import cmsis_nn

ROOT = Path(__file__).resolve().parents[2]
LSTM = ROOT / "models" / "kws-lstm64" / "model_int8.tflite"
GRU = ROOT / "models" / "kws-gru64" / "model_int8.tflite"


def fake_tree(tmp_path: Path) -> Path:
    """A tree with every file the build reads, but not CMSIS-NN's contents."""
    for rel in ("Include/arm_nnfunctions.h", *cmsis_nn.SOURCES):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(f"/* {rel} */\n")
    return tmp_path


def test_other_tree_is_refused_with_one_line(tmp_path):
    tree = fake_tree(tmp_path)
    proc = subprocess.run([sys.executable, "-I", str(ROOT / "tools" / "bench_mcu.py"), str(LSTM), "--cmsis-nn", str(tree)],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 2
    errors = [line for line in proc.stderr.splitlines() if line.startswith("edgernn: error:")]
    assert len(errors) == 1 and "differ from the pinned commit" in errors[0] and "Traceback" not in proc.stderr


def test_digest_follows_every_file_and_any_tree_passes(tmp_path):
    tree = fake_tree(tmp_path)
    first = cmsis_nn.tree_digest(tree)
    (tree / cmsis_nn.SOURCES[0]).write_text("changed\n")
    assert cmsis_nn.tree_digest(tree) != first
    assert cmsis_nn.check_tree(tree, any_tree=True)["pinned"] is False
    with pytest.raises(UserError, match="pinned commit"):
        cmsis_nn.check_tree(tree)
    with pytest.raises(UserError, match="not a CMSIS-NN source tree"):
        cmsis_nn.check_tree(tmp_path / "nowhere")


def test_params_are_tflite_micros():
    from edgernn.tflite.reader import Graph

    p = cmsis_nn.model_params(LSTM)
    g = Graph(LSTM)
    lstm_op = g.ops(0)[0]
    ins = g.operands(lstm_op)
    s_x, z_x = g.qparams(0, ins.input)
    s_h, z_h = g.qparams(0, ins.output_state)
    s_c = g.qparams(0, ins.cell_state)[0]
    lp = p["lstm"]
    assert (lp["time_steps"], lp["input_size"], lp["hidden_size"], lp["input_offset"]) == (49, 10, 64, -z_x)
    assert 2.0 ** lp["cell_scale_power"] == pytest.approx(s_c)
    # multiplier * 2^(shift - 31) is the real scale TFLite Micro's Prepare quantizes
    real = lambda m, s: m * 2.0 ** (s - 31)  # noqa: E731
    assert real(lp["output_multiplier"], lp["output_shift"]) == pytest.approx(2.0 ** -30 / s_h, rel=1e-8)
    assert real(lp["input_to_cell_multiplier"], lp["input_to_cell_shift"]) == pytest.approx(2.0 ** -30 / s_c, rel=1e-8)
    assert lp["cell_clip"] == int(10.0 / s_c)
    for name in ("input", "forget", "cell", "output"):
        gate = p["gates"][name]
        w_in = g.const(0, ins[f"input_to_{name}_weights"]).astype(np.int64)
        w_rec = g.const(0, ins[f"recurrent_to_{name}_weights"]).astype(np.int64)
        bias = g.const(0, ins[f"{name}_gate_bias"]).astype(np.int64)
        # arm_vector_sum_s8's effective biases: bias + offset * row sums
        assert np.array_equal(gate["input_effective_bias"], bias - z_x * w_in.sum(axis=1))
        assert np.array_equal(gate["hidden_effective_bias"], -z_h * w_rec.sum(axis=1))
        s_w = g.qparams(0, ins[f"input_to_{name}_weights"])[0]
        assert real(gate["input_multiplier"], gate["input_shift"]) == pytest.approx(s_x * s_w * 4096, rel=1e-8)
        assert gate["activation"] == ("ARM_TANH" if name == "cell" else "ARM_SIGMOID")
    assert len(p["fc"]["multipliers"]) == p["fc"]["rows"] == 12 and p["output_size"] == 12
    source, header = cmsis_nn.model_source(p)
    assert "arm_lstm_unidirectional_s8(" in source and "EDGERNN_MODEL_OUTPUT_SIZE 12" in header


def test_other_graphs_are_refused():
    with pytest.raises(UserError, match="LSTM -> last step"):
        cmsis_nn.model_params(GRU)


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("EDGERNN_CMSIS_NN"), reason="EDGERNN_CMSIS_NN names no CMSIS-NN tree")
def test_cmsis_nn_in_qemu(tmp_path):
    tree = Path(os.environ["EDGERNN_CMSIS_NN"])
    cmsis_nn.check_tree(tree, any_tree=True)
    r = cmsis_nn.measure(LSTM, "mps2-an386", tree, vectors=4, out=tmp_path / "fw")
    assert r["vectors"] == 4 and r["macs_per_inference"] == 929_024
    assert 0.5 < r["instructions_per_mac"] < 100
    assert r["max_abs_diff"] <= 64  # outputs are softmax probabilities in 1/256: near TFLite Micro's
