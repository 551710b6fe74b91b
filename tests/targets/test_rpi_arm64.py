"""`bench --target rpi` on real ARM64 code: Debian bookworm arm64 Python 3.11 with the aarch64
numpy and ai-edge-litert wheels a Raspberry Pi installs, run by qemu-aarch64 (user mode) behind a
real OpenSSH server on loopback (tools/arm64_userland.py builds the userland once, ~1 minute, into
a cache folder). The accuracy must equal the x86 result; the rows say the figures are emulated."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from edgernn import api

REPO = Path(__file__).resolve().parents[2]
USERLAND = Path(os.environ.get("EDGERNN_ARM64_USERLAND", Path.home() / ".cache" / "edgernn" / "arm64-userland"))
FAST = {"warmup": 2, "runs": 10, "repeats": 1, "progress": False}


@pytest.fixture(scope="module")
def arm64_python():
    if not shutil.which("qemu-aarch64"):
        pytest.fail("qemu-aarch64 missing: `make test` installs qemu-user")
    wrapper = USERLAND / "python3"
    if not wrapper.is_file():
        subprocess.run([sys.executable, str(REPO / "tools" / "arm64_userland.py"), "--dir", str(USERLAND)], check=True,
                       stdout=subprocess.DEVNULL)
    return wrapper


@pytest.fixture(scope="module")
def sshd(tmp_path_factory):
    """Debian's sshd on a free loopback port with throwaway keys (as tests/bench/test_bench.py uses)."""
    from edgernn.studies.loopback import loopback_sshd

    with loopback_sshd(tmp_path_factory.mktemp("sshd")) as options:
        yield options


def test_the_userland_is_arm64_python_with_the_pi_wheels(arm64_python):
    out = subprocess.run([str(arm64_python), "-c", "import platform, numpy, ai_edge_litert, sys; "
                          "print(platform.machine(), sys.version_info[:2], numpy.__version__)"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and out.stdout.split()[0] == "aarch64" and "(3, 11)" in out.stdout, out.stderr


@pytest.mark.slow
@pytest.mark.parametrize("name", ["kws-gru64", "kws-lstm64", "anomaly-lstm32"])
def test_bench_rpi_on_arm64_matches_x86_accuracy(arm64_python, sshd, name, tmp_path):
    model = REPO / "models" / name / "model_int8.tflite"
    data = None
    if name.startswith("anomaly"):
        data = api.synth_anomaly(tmp_path / "anomaly", seed=0)
    elif not (REPO / "data" / "kws").is_dir():
        pytest.skip("data/kws not made (edgernn data synth-kws data/kws)")
    limit = 300
    x86 = api.bench([model], target="cpu", runtimes=["litert"], data=data, limit=limit, **FAST)[0]
    rows = api.bench([model], target="rpi", runtimes=["litert"], data=data, limit=limit, remote_python=str(arm64_python),
                     out=tmp_path / "rpi", **FAST, **sshd)
    arm = rows[0]
    assert arm["error"] is None, arm["error"]
    assert arm["machine"] == "aarch64" and "EMULATED" in arm["cpu_model"]  # labelled: not a Pi's timing
    assert arm["latency_ms"]["p50"] > 0 and arm["accuracy"] is not None
    assert arm["accuracy"] == pytest.approx(x86["accuracy"], abs=0.0), (arm["accuracy"], x86["accuracy"])


# Runs on x86 here and, as a script, on the emulated aarch64 userland: for each input row, every
# tensor of the main graph that holds data after the invoke (the input, the recurrent loop's final
# state, the int8 logits = the SOFTMAX op's input, the output), stacked per tensor index; the
# outputs of every op before SOFTMAX (the recurrent loop's final state is the result of all its
# steps; its per-step tensors live in a subgraph the Python interpreter does not expose); and
# the index SOFTMAX writes.
_ALL_TENSORS = """
import warnings
import numpy as np
from ai_edge_litert.interpreter import Interpreter
warnings.filterwarnings("ignore", message=".*experimental_preserve_all_tensors")  # reading them all is the point

def all_tensors(model, X):
    ip = Interpreter(model_path=model, num_threads=1, experimental_preserve_all_tensors=True)
    ip.allocate_tensors()
    i = ip.get_input_details()[0]
    softmax = [op for op in ip._get_ops_details() if op["op_name"] == "SOFTMAX"]
    assert len(softmax) == 1, [op["op_name"] for op in ip._get_ops_details()]
    rows = {}
    for x in X:
        ip.set_tensor(i["index"], x[None]); ip.invoke()
        for t in ip.get_tensor_details():
            try:
                value = ip.get_tensor(t["index"]).copy()
            except ValueError:  # no buffer (e.g. a scratch tensor the planner released): nothing to compare
                continue
            rows.setdefault(str(t["index"]), []).append(value)
    tensors = {k: np.stack(v) for k, v in rows.items() if len(v) == len(X)}
    op_outputs = sorted({str(int(t)) for op in ip._get_ops_details() if op["op_name"] not in ("SOFTMAX", "DELEGATE")
                         for t in op["outputs"] if t >= 0})
    return tensors, op_outputs, str(int(softmax[0]["outputs"][0]))
"""


def test_arm64_outputs_equal_x86_outputs(arm64_python, tmp_path):
    """What the engines promise, checked on the aarch64 kernels with the same int8 inputs as x86:
    every tensor up to the int8 logits equal byte for byte, the int8 SOFTMAX output within 1 LSB,
    and the same class (argmax) for every input.

    Why not the whole output byte for byte: LiteRT's optimized int8 softmax is built differently
    for aarch64 (NEON) and x86 and rounds some probabilities one step apart (seen on a GRU-64
    retrained on 2026-11-30: 1 of 8 random inputs, logits identical). That is LiteRT's platform
    difference, not the model's, and it is what a Pi runs; a byte-for-byte check would fail on a
    correct model. Everything before the softmax is integer arithmetic with one defined result, so
    it must match exactly, and a 1-step rounding must never change the answer (argmax)."""
    model = str(REPO / "models" / "kws-gru64" / "model_int8.tflite")
    namespace: dict = {}
    exec(_ALL_TENSORS, namespace)  # the same code the aarch64 side runs (our own source)
    from ai_edge_litert.interpreter import Interpreter

    ip = Interpreter(model_path=model, num_threads=1)
    shape = ip.get_input_details()[0]["shape"][1:]
    X = np.random.default_rng(0).integers(-128, 128, size=(8, *shape), dtype=np.int8)
    np.save(tmp_path / "x.npy", X)
    want, op_outputs, softmax_index = namespace["all_tensors"](model, X)
    script = tmp_path / "arm.py"
    script.write_text(_ALL_TENSORS + "\nimport sys\n"
                      f"t, _, _ = all_tensors({model!r}, np.load({str(tmp_path / 'x.npy')!r}))\n"
                      f"np.savez({str(tmp_path / 't.npz')!r}, **t)\n")
    r = subprocess.run([str(arm64_python), str(script)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-1000:]
    with np.load(tmp_path / "t.npz") as z:
        got = {k: z[k] for k in z.files}
    assert set(got) == set(want) and softmax_index in want
    before_softmax = [k for k in want if k != softmax_index]
    assert set(op_outputs) <= set(before_softmax), (op_outputs, before_softmax)  # every op's result was read
    unequal = [k for k in before_softmax if not np.array_equal(got[k], want[k])]
    assert not unequal, f"tensors {unequal} differ between aarch64 and x86"
    got_out, want_out = got[softmax_index].astype(int), want[softmax_index].astype(int)
    assert np.abs(got_out - want_out).max() <= 1, (got_out[:2], want_out[:2])
    assert np.array_equal(got_out.reshape(len(X), -1).argmax(axis=1), want_out.reshape(len(X), -1).argmax(axis=1))
