"""Security hardening (issue #10): each test reproduces an attack and shows it is refused.

Families: 1 code execution from a model file, 2 a planted shared library in the native cache,
3 remote clean-up deleting what the run did not create, 4 crafted models crashing LiteRT / TFLite
Micro in-process, 5 resource exhaustion from tiny inputs.
"""
from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from edgernn import api
from edgernn.cli import main
from edgernn.errors import UserError

FAST = dict(warmup=1, runs=3, repeats=1, progress=False)


def _cli(*args):
    r = CliRunner().invoke(main, [str(a) for a in args])
    lines = [ln for ln in r.output.splitlines() if ln.startswith("edgernn: error:")]
    return r, lines


@pytest.fixture(scope="module")
def int8_gru(tiny_runs):
    run = tiny_runs["gru"]
    path = run / "model_int8.tflite"
    return path if path.is_file() else api.quantize(run, mode="int8", calibration_samples=50)


# --- 1. code execution from a model file ------------------------------------------------------------

def _lambda_model(keras, marker: Path):
    """A tiny model whose Lambda layer writes ``marker`` when the model is rebuilt from its file."""
    inp = keras.Input((12, 4))
    x = keras.layers.Lambda(lambda t, p=str(marker): (open(p, "w").write("pwned"), t)[1])(inp)
    x = keras.layers.GRU(2)(x)
    return keras.Model(inp, keras.layers.Dense(3, activation="softmax")(x))


def test_hdf5_model_named_keras_is_refused_and_runs_no_code(tiny_runs, tmp_path):
    from edgernn.tf import load

    _, keras = load()
    marker = tmp_path / "pwned"
    run = tmp_path / "run"
    shutil.copytree(tiny_runs["gru"], run)
    h5 = tmp_path / "evil.h5"
    _lambda_model(keras, marker).save(h5, save_format="h5")
    marker.unlink(missing_ok=True)  # building the model above ran the Lambda once
    shutil.copy(h5, run / "model.keras")  # an HDF5 file with the run's usual name
    for args in (["eval", run / "model.keras"], ["quantize", run, "--mode", "float16"],
                 ["export", run, "--format", "onnx"], ["prune", run, "--epochs", "0", "--out", tmp_path / "p"]):
        r, errors = _cli(*args)
        assert r.exit_code == 2, (args, r.output)
        assert len(errors) == 1 and "HDF5" in errors[0] and "Traceback" not in r.output
        assert not marker.exists(), f"{args[0]} ran code from the model file"
    # The attack is real: tf_keras' own loader runs the Lambda of this very file.
    keras.models.load_model(run / "model.keras", compile=False)
    assert marker.exists()


def test_keras_zip_with_lambda_is_refused_by_safe_mode(tmp_path):
    from edgernn.io import load_keras_model
    from edgernn.tf import load

    _, keras = load()
    marker = tmp_path / "pwned"
    path = tmp_path / "model.keras"
    _lambda_model(keras, marker).save(path)
    marker.unlink(missing_ok=True)
    with pytest.raises(UserError, match="refused by the model gate.*Lambda"):
        load_keras_model(path)
    assert not marker.exists()


@pytest.mark.parametrize("content,message", [
    (b"\x89HDF\r\n\x1a\n" + b"\0" * 64, "HDF5"),
    (b"not a model at all", "not a .keras model"),
    (b"PK\x03\x04garbage", "not a readable"),
])
def test_only_zip_keras_models_are_loaded(tmp_path, content, message):
    from edgernn.io import load_keras_model

    (tmp_path / "m.keras").write_bytes(content)
    with pytest.raises(UserError, match=message):
        load_keras_model(tmp_path / "m.keras")


# --- 2. planted shared library in the native cache ----------------------------------------------------

def _planted_library(tmp_path: Path, marker: Path) -> Path:
    src = tmp_path / "evil.c"
    src.write_text('#include <stdio.h>\n__attribute__((constructor)) static void evil(void) {\n'
                   f'  FILE *f = fopen("{marker}", "w"); if (f) {{ fputs("pwned", f); fclose(f); }}\n}}\n'
                   "int edgernn_model_invoke(const signed char *in, signed char *out) { return 0; }\n")
    lib = tmp_path / "evil.so"
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(lib), str(src)], check=True)
    return lib


def _predictable_names(model: Path) -> list[str]:
    """The name the old cache used (hash of public inputs), and our build key under a few spellings."""
    import hashlib

    from edgernn.export.codegen import GENERATOR_VERSION, runtime_sources
    from edgernn.runtimes.native import build_key, native_cflags

    h = hashlib.sha256(model.read_bytes())
    for f in runtime_sources():
        h.update(f.read_bytes())
    h.update(str(GENERATOR_VERSION).encode())
    keys = [build_key(model.read_bytes()), build_key(model.read_bytes(), native_cflags())]
    return sorted({f"model-{h.hexdigest()[:16]}.so", *(f"model-{k[:n]}.so" for k in keys for n in (16, 32))})


def test_native_cache_is_private_and_not_plantable(int8_gru, tmp_path, monkeypatch):
    from edgernn.runtimes.native import NativeRuntime, cache_dir

    marker = tmp_path / "pwned"
    evil = _planted_library(tmp_path, marker)
    # The old shared location and every name computable from public inputs get the planted library.
    shared = Path(os.environ.get("TMPDIR", "/tmp")) / "edgernn-native"
    planted = []
    for folder in (shared, tmp_path / "xdg" / "edgernn" / "native"):
        folder.mkdir(parents=True, exist_ok=True)
        for name in _predictable_names(int8_gru):
            if not (folder / name).exists():
                shutil.copy(evil, folder / name)
                planted.append(folder / name)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    try:
        rt = NativeRuntime(int8_gru)
        out = rt.invoke(np.zeros((1, 12, 4), np.float32))
        assert out.shape == (1, 3) and abs(float(out.sum()) - 1.0) < 0.05  # a real softmax, not the planted stub
        assert not marker.exists(), "a planted library was loaded"
        folder = cache_dir()
        assert folder == tmp_path / "xdg" / "edgernn" / "native"
        assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700 and os.stat(folder).st_uid == os.getuid()
        assert stat.S_IMODE(os.stat(folder / "key").st_mode) == 0o600
        built = [p for p in folder.glob("model-*.so") if p.name not in _predictable_names(int8_gru)]
        assert len(built) == 1  # named by the secret-keyed HMAC, not by anything an attacker can compute
    finally:
        for p in planted:
            p.unlink(missing_ok=True)
    # The planted file is live code: loading it is exactly the attack the cache prevents.
    import ctypes

    ctypes.CDLL(str(evil))
    assert marker.exists()


def test_native_cache_owned_by_someone_else_is_not_used(int8_gru, tmp_path, monkeypatch):
    from edgernn.runtimes.native import build_shared_library, cache_dir

    if os.getuid() != 0:
        pytest.skip("needs root to give a folder to another user")
    other = tmp_path / "xdg" / "edgernn"
    (other / "native").mkdir(parents=True)
    for d in (other, other / "native"):
        os.chown(d, 65534, 65534)
        os.chmod(d, 0o777)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() is None
    lib = build_shared_library(int8_gru, tmp_path / "private")
    assert lib.parent == tmp_path / "private" and lib.is_file()
    assert list((other / "native").iterdir()) == []


def test_cached_library_writable_by_others_is_rebuilt(int8_gru, tmp_path, monkeypatch):
    from edgernn.runtimes.native import build_shared_library

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    lib = build_shared_library(int8_gru)
    first = lib.read_bytes()
    lib.write_bytes(b"tampered")
    os.chmod(lib, 0o666)
    again = build_shared_library(int8_gru)
    assert again == lib and again.read_bytes() == first and stat.S_IMODE(again.stat().st_mode) & 0o022 == 0


# --- 3. remote clean-up removes only what this run created -----------------------------------------------

def test_rpi_cleanup_keeps_preexisting_folder_and_other_runs(int8_gru, sshd, tmp_path):  # noqa: F811
    base = tmp_path / "board scratch"
    base.mkdir()
    (base / "users-notes.txt").write_text("keep me")
    other_run = base / "edgernn-run.otherbench"  # another bench sharing the folder, still running
    other_run.mkdir()
    (other_run / "a0.tflite").write_text("theirs")
    rows = api.bench([int8_gru], target="rpi", runtimes=["litert"], limit=0,
                     **FAST, **dict(sshd, remote_dir=str(base)))
    assert rows[0]["error"] is None and rows[0]["latency_ms"]["p50"] > 0
    assert (base / "users-notes.txt").read_text() == "keep me"
    assert (other_run / "a0.tflite").read_text() == "theirs"
    assert sorted(p.name for p in base.iterdir()) == ["edgernn-run.otherbench", "users-notes.txt"]


def test_rpi_cleanup_removes_the_base_folder_it_created(int8_gru, sshd, tmp_path):  # noqa: F811
    base = tmp_path / "new" / "scratch"
    api.bench([int8_gru], target="rpi", runtimes=["litert"], limit=0, **FAST, **dict(sshd, remote_dir=str(base)))
    assert not base.exists() and not (tmp_path / "new").exists()  # both made by the run, both removed (issue #30)


def test_rpi_timeout_zero_and_unreachable_host_take_one_timeout(int8_gru, tmp_path):
    r, errors = _cli("bench", int8_gru, "--target", "rpi", "--host", "pi@127.0.0.1", "--timeout", "0")
    assert r.exit_code == 2 and len(errors) == 1 and "--timeout" in errors[0]
    # A black-hole address: the connection times out; clean-up must not wait a second time.
    start = time.time()
    r, errors = _cli("bench", int8_gru, "--target", "rpi", "--host", "pi@10.255.255.1", "--timeout", "2",
                     "--known-hosts", tmp_path / "kh", "--limit", "0")
    assert r.exit_code == 2 and len(errors) == 1
    assert time.time() - start < 2 * 2 + 10 + 5


# --- 4. crafted models never crash the CLI process ------------------------------------------------------------

@pytest.fixture(scope="module")
def crashing_model(int8_gru, tmp_path_factory):
    """The int8 GRU with its last operator reading tensor 500 (of 12): TFLite Micro segfaults on it."""
    folder = tmp_path_factory.mktemp("crafted")
    shutil.copy(int8_gru.parent / "config.json", folder / "config.json")
    path = folder / "model_int8.tflite"
    path.write_bytes(last_op_reads_tensor_500(int8_gru.read_bytes()))
    return path


def last_op_reads_tensor_500(data: bytes) -> bytes:
    """The model with its last operator's inputs replaced by tensor 500 (TensorFlow's own schema classes)."""
    import flatbuffers

    from edgernn.tf import load

    load()
    from tensorflow.lite.python import schema_py_generated as s

    m = s.ModelT.InitFromObj(s.Model.GetRootAsModel(data, 0))
    m.subgraphs[0].operators[-1].inputs = np.array([500], np.int32)
    b = flatbuffers.Builder(1024)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def test_crafted_model_crashes_tflm_only_in_a_child(crashing_model):
    # The attack is real: TFLite Micro dies with SIGSEGV on this file.
    proc = subprocess.run([sys.executable, "-c", "import sys; from tflite_micro.python.tflite_micro import runtime; "
                           "runtime.Interpreter.from_bytes(open(sys.argv[1], 'rb').read(), arena_size=262144)",
                           str(crashing_model)], capture_output=True)
    assert proc.returncode == -signal.SIGSEGV
    for args in (["eval", crashing_model, "--runtime", "tflm"],
                 ["bench", crashing_model, "--runtimes", "tflm", "--runs", "2", "--warmup", "0", "--repeat", "1"]):
        r, errors = _cli(*args)
        assert r.exit_code == 2 and len(errors) == 1, (args, r.output)
        assert "crashed (SIGSEGV)" in errors[0] or "cannot load it" in errors[0]


def test_truncated_model_is_refused_before_any_runtime(int8_gru, tmp_path):
    bad = tmp_path / "model_int8.tflite"
    bad.write_bytes(int8_gru.read_bytes()[:100])
    shutil.copy(int8_gru.parent / "config.json", tmp_path / "config.json")
    for rt in ("tflm", "litert"):
        r, errors = _cli("eval", bad, "--runtime", rt)
        assert r.exit_code == 2 and len(errors) == 1 and str(bad) in errors[0], r.output


# --- 5. resource exhaustion from tiny inputs -----------------------------------------------------------------

def test_huge_label_value_is_refused_before_allocating(tmp_path):
    X = np.zeros((20, 3, 2), np.float32)
    y = np.array([0, 1] * 9 + [1, 10**12])
    np.savez(tmp_path / "big.npz", X=X, y=y)
    assert (tmp_path / "big.npz").stat().st_size < 10_000
    import resource

    start = time.time()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    r, errors = _cli("data", "info", tmp_path / "big.npz")
    assert r.exit_code == 2 and len(errors) == 1 and "label value" in errors[0]
    assert time.time() - start < 10
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200_000  # KiB: no gigabyte list


def _wav_header(rate: int, frames: int) -> bytes:
    import struct

    data = b"\0\0" * frames
    return (b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16)
            + b"data" + struct.pack("<I", len(data)) + data)


def test_wav_with_absurd_sample_rate_is_refused(tmp_path):
    from edgernn.data.wav import read_wav

    (tmp_path / "slow.wav").write_bytes(_wav_header(1, 20_000))  # 40 KB claiming 1 Hz: x16000 if resampled
    start = time.time()
    with pytest.raises(UserError, match="sample rate 1 Hz"):
        read_wav(tmp_path / "slow.wav")
    assert time.time() - start < 5
    (tmp_path / "long.wav").write_bytes(_wav_header(8000, 8000 * 700))  # 700 s
    with pytest.raises(UserError, match="at most 600 s"):
        read_wav(tmp_path / "long.wav")


def test_fifo_named_wav_is_refused_without_blocking(tmp_path):
    from edgernn.data.wav import read_wav

    os.mkfifo(tmp_path / "trap.wav")
    old = signal.signal(signal.SIGALRM, lambda *a: (_ for _ in ()).throw(TimeoutError("blocked on the FIFO")))
    signal.alarm(10)
    try:
        with pytest.raises(UserError, match="not a regular file"):
            read_wav(tmp_path / "trap.wav")
        for suffix in (".npz", ".csv"):
            os.mkfifo(tmp_path / f"trap{suffix}")
            r, errors = _cli("data", "info", tmp_path / f"trap{suffix}")
            assert r.exit_code == 2 and len(errors) == 1 and "not a regular file" in errors[0]
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def test_npz_zip_bomb_is_refused(tmp_path, monkeypatch):
    """A compressed member that unpacks far beyond the bound (scaled down: 64 MB of zeros vs a 16 MB bound)."""
    import zipfile

    from edgernn.data import npz

    monkeypatch.setattr(npz, "MAX_NPZ_BYTES", 8 * 1024 * 1024)
    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        X = np.zeros((1 << 22, 2, 2), np.float32)  # 64 MB
        with z.open("X.npy", "w") as f:
            np.save(f, X)
    assert path.stat().st_size < 1_000_000
    r, errors = _cli("data", "info", path)
    assert r.exit_code == 2 and len(errors) == 1 and "unpacks to" in errors[0]


def test_mutated_models_give_results_or_one_clean_error(int8_gru, tmp_path):
    """Seeded byte-level mutants of the int8 GRU through eval (TFLite Micro and LiteRT): never a crash of
    the CLI process, never a traceback: either metrics or one `edgernn: error:` line."""
    base = int8_gru.read_bytes()
    shutil.copy(int8_gru.parent / "config.json", tmp_path / "config.json")
    outcomes = {"ran": 0, "refused": 0}
    for seed in range(12):
        rng = np.random.default_rng(seed)
        b = bytearray(base)
        for _ in range(int(rng.integers(1, 4))):
            b[int(rng.integers(8, len(b)))] = int(rng.integers(0, 256))
        path = tmp_path / "model_int8.tflite"
        path.write_bytes(bytes(b))
        for rt in ("tflm", "litert"):
            r, errors = _cli("eval", path, "--runtime", rt, "--limit", "2")
            assert "Traceback" not in r.output and not (r.exception and not isinstance(r.exception, SystemExit))
            assert (r.exit_code == 0 and not errors) or (r.exit_code == 2 and len(errors) == 1), r.output
            outcomes["ran" if r.exit_code == 0 else "refused"] += 1
    assert outcomes["refused"] > 0
