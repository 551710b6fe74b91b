"""Shared fixtures. Tests build tiny models and datasets in seconds."""
from __future__ import annotations

import os
import shutil
import sys

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

import importlib.util
from pathlib import Path

import numpy as np
import pytest

TOOLS = Path(__file__).resolve().parents[1] / "tools"


def load_tool(name: str):
    """A script in tools/ (not a package) imported as a module, e.g. load_tool("bench_real")."""
    spec = importlib.util.spec_from_file_location(name, TOOLS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def assert_c_matches_tflm(model, n: int, seed: int, constants=(-128, 127, 0)):
    """``n`` seeded random int8 inputs and one input filled with each of ``constants``: the generated C
    (host build) gives TFLite Micro's output bytes for every one. Returns (inputs, outputs)."""
    from edgernn.runtimes.native import NativeRuntime
    from edgernn.runtimes.tflm import TFLMRuntime

    native, ref = NativeRuntime(model), TFLMRuntime(model)
    shape = ref.input_info().shape
    rng = np.random.default_rng(seed)
    inputs = [rng.integers(-128, 128, size=shape).astype(np.int8) for _ in range(n)]
    inputs += [np.full(shape, v, np.int8) for v in constants]
    outputs = [native.invoke_raw(x) for x in inputs]
    for x, out in zip(inputs, outputs):
        np.testing.assert_array_equal(out, ref.invoke_raw(x))
    return inputs, outputs


def sine_series_csv(path, n=1200, period=40, anomalies=((900, 919),), seed=0):
    """A one-channel anomaly CSV: a noisy sine of the given period, flat-lined at 2.5 and labelled 1
    over each inclusive (first, last) row range of ``anomalies``."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    v = np.sin(2 * np.pi * t / period) + rng.normal(0, 0.05, n)
    lab = np.zeros(n, dtype=int)
    for a, b in anomalies:
        v[a:b + 1] = 2.5
        lab[a:b + 1] = 1
    path.write_text("value,label\n" + "".join(f"{x:.5f},{k}\n" for x, k in zip(v, lab)))
    return path


@pytest.fixture
def tiny_npz(tmp_path):
    """A 3-class sequence-classification .npz whose class is readable from the data."""
    rng = np.random.default_rng(0)
    n, t, f = 240, 12, 4
    y = rng.integers(0, 3, n)
    X = rng.normal(0, 0.3, (n, t, f)).astype(np.float32)
    X[np.arange(n), :, y] += 1.0  # class k lifts feature k
    split = np.array(["train"] * 160 + ["val"] * 40 + ["test"] * 40)
    path = tmp_path / "tiny.npz"
    np.savez(path, X=X, y=y, split=split)
    return path


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory):
    """A session-wide copy of the tiny .npz (for runs shared by many tests)."""
    rng = np.random.default_rng(0)
    n, t, f = 240, 12, 4
    y = rng.integers(0, 3, n)
    X = rng.normal(0, 0.3, (n, t, f)).astype(np.float32)
    X[np.arange(n), :, y] += 1.0
    split = np.array(["train"] * 160 + ["val"] * 40 + ["test"] * 40)
    path = tmp_path_factory.mktemp("data") / "tiny.npz"
    np.savez(path, X=X, y=y, split=split)
    return path


@pytest.fixture(scope="session")
def tiny_runs(tiny_data, tmp_path_factory):
    """Trained 8-unit GRU and LSTM classifiers on the tiny data: {"gru": run, "lstm": run}."""
    from edgernn import api

    root = tmp_path_factory.mktemp("runs")
    return {arch: api.train(task="classify", arch=arch, units=8, data=tiny_data, out=root / arch, epochs=20,
                            batch_size=16, lr=1e-2, progress=False)
            for arch in ("gru", "lstm")}


@pytest.fixture(scope="module")  # bench, hardening and outputs tests use it
def sshd(tmp_path_factory):
    """Debian's sshd on a free loopback port, throwaway host and user keys; yields connection options."""
    from edgernn.studies.loopback import loopback_sshd

    sshd_bin = shutil.which("sshd") or "/usr/sbin/sshd"
    if not os.path.exists(sshd_bin) or not shutil.which("ssh"):
        pytest.fail("openssh-server/openssh-client missing: `make test` installs them")
    with loopback_sshd(tmp_path_factory.mktemp("sshd"), remote_dir_name="remote work dir") as options:
        # the venv's python: has numpy, ai-edge-litert, onnxruntime
        yield dict(options, remote_python=sys.executable)


def tone_kws(root, words=("yes", "no", "other"), per_word=10):
    """A keyword folder made in a second: each word is a tone (300/500/700 Hz, 0.3-0.7 s) in faint noise,
    with a noise background; clips 0-1 of each word validate, 2-3 test."""
    import soundfile as sf

    rng = np.random.default_rng(0)
    (root / "_background_noise_").mkdir(parents=True)
    sf.write(root / "_background_noise_" / "n.wav", (0.01 * rng.normal(size=48000)).astype(np.float32), 16000)
    t = np.arange(16000) / 16000
    for w_i, w in enumerate(words):
        (root / w).mkdir()
        for k in range(per_word):
            x = 0.3 * np.sin(2 * np.pi * (300 + 200 * w_i) * t) * (t > 0.3) * (t < 0.7) + 0.01 * rng.normal(size=16000)
            sf.write(root / w / f"s{k}_nohash_0.wav", x.astype(np.float32), 16000, subtype="PCM_16")
    (root / "validation_list.txt").write_text("".join(f"{w}/s{k}_nohash_0.wav\n" for w in words for k in (0, 1)))
    (root / "testing_list.txt").write_text("".join(f"{w}/s{k}_nohash_0.wav\n" for w in words for k in (2, 3)))
    return root
