"""Reliability fixes of issue #10 that the bad-input table cannot show: interrupted work, orphaned children,
stale temporary folders, damaged caches, records written with their artifacts, firmware builds."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from edgernn import api, io
from edgernn.errors import UserError


@pytest.fixture(scope="module")
def int8_gru(tiny_runs):
    run = tiny_runs["gru"]
    path = run / "model_int8.tflite"
    return path if path.is_file() else api.quantize(run, mode="int8", calibration_samples=50)


# --- children die with their parent -----------------------------------------------------------------------

def test_child_dies_when_its_parent_is_killed(tmp_path):
    """A parent starts a child the way quantize starts the converter, then is SIGKILLed: the child goes too."""
    pid_file = tmp_path / "child.pid"
    parent = subprocess.Popen([sys.executable, "-c", (
        "import sys, time\n"
        "from edgernn.procs import run_child\n"
        "run_child([sys.executable, '-c', 'import os, sys, time; from edgernn.procs import die_with_parent; '\n"
        "           'die_with_parent(); open(sys.argv[1], \"w\").write(str(os.getpid())); time.sleep(120)',\n"
        f"           {str(pid_file)!r}], timeout=300)\n")], env=dict(os.environ, PYTHONPATH=str(Path(__file__).parents[1])))
    deadline = time.time() + 60
    while not (pid_file.is_file() and pid_file.read_text()) and time.time() < deadline:
        time.sleep(0.1)
    child = int(pid_file.read_text())
    parent.kill()
    parent.wait()
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        os.kill(child, 9)
        pytest.fail("the child outlived its killed parent")


def test_external_tool_dies_when_its_parent_is_killed(tmp_path):
    """QEMU, gcc and ssh cannot call die_with_parent themselves: started through tied_to_parent (setpriv
    --pdeathsig), a tool goes when the CLI is SIGKILLed."""
    pid_file = tmp_path / "tool.pid"
    parent = subprocess.Popen([sys.executable, "-c", (
        "import subprocess, sys, time\n"
        "from edgernn.procs import tied_to_parent\n"
        "p = subprocess.Popen(tied_to_parent(['sleep', '120']))\n"
        f"open({str(pid_file)!r}, 'w').write(str(p.pid))\n"
        "time.sleep(120)\n")], env=dict(os.environ, PYTHONPATH=str(Path(__file__).parents[1])))
    deadline = time.time() + 60
    while not (pid_file.is_file() and pid_file.read_text()) and time.time() < deadline:
        time.sleep(0.1)
    tool = int(pid_file.read_text())
    time.sleep(0.5)  # setpriv has exec'd sleep by now
    parent.kill()
    parent.wait()
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            state = Path(f"/proc/{tool}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            break
        if state == "Z":  # killed, waiting to be reaped by init
            break
        time.sleep(0.1)
    else:
        os.kill(tool, 9)
        pytest.fail("the external tool outlived its killed parent")


def test_missing_external_tool_is_still_file_not_found():
    from edgernn.procs import tied_to_parent

    with pytest.raises(FileNotFoundError):
        subprocess.run(tied_to_parent(["edgernn-no-such-tool-xyz"]), capture_output=True)


def test_qemu_compilers_and_ssh_are_started_tied_to_the_parent():
    root = Path(__file__).parents[1] / "edgernn"
    for rel, calls in {"targets/toolchain.py": 1, "targets/qemu.py": 2, "targets/rpi.py": 1,
                       "targets/flash.py": 1, "runtimes/native.py": 1, "runtimes/frontend_native.py": 1}.items():
        assert (root / rel).read_text().count("tied_to_parent(") >= calls, rel
    # both apps run in QEMU through the one QEMU function (qemu.run_semihosted)
    for app in ("mcu.py", "kws_firmware.py", "firmware_app.py"):
        assert "qemu.run_semihosted(" in (root / "targets" / app).read_text(), app


def test_converter_child_and_runner_ask_to_die_with_parent():
    root = Path(__file__).parents[1] / "edgernn"
    assert "die_with_parent()" in (root / "optimize" / "_convert_child.py").read_text()
    assert "_die_with_parent()" in (root / "targets" / "runner.py").read_text()


# --- stale .partial folders -------------------------------------------------------------------------------------

def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_stale_partials_of_dead_runs_are_cleaned_only_ours(tmp_path):
    final = tmp_path / "run"
    stale = tmp_path / ".run.abc123.partial"  # left by a SIGKILLed edgernn: our mark, dead pid
    stale.mkdir()
    (stale / "model.keras").write_text("half")
    io.mark_partial(stale)
    mark = json.loads((stale / io.PARTIAL_MARK).read_text())
    (stale / io.PARTIAL_MARK).write_text(json.dumps(dict(mark, pid=_dead_pid())))
    alive = tmp_path / ".run.live01.partial"  # another edgernn still writing: its pid is alive
    alive.mkdir()
    io.mark_partial(alive)
    foreign = tmp_path / ".run.user.partial"  # not made by edgernn (no mark): never touched
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    other_name = tmp_path / ".other.xyz.partial"  # a different output's partial: not ours to judge here
    other_name.mkdir()
    (other_name / io.PARTIAL_MARK).write_text(json.dumps(dict(mark, pid=_dead_pid())))
    with io.atomic_dir(final) as tmp:
        (tmp / "done").write_text("ok")
    assert not stale.exists()
    assert alive.is_dir() and foreign.is_dir() and other_name.is_dir()
    # the partial mark does not end up in the result; the mark that edgernn made the folder does
    assert sorted(p.name for p in final.iterdir()) == sorted(["done", io.OWNER_MARK])


# --- corrupt feature cache --------------------------------------------------------------------------------------

def test_corrupt_feature_cache_is_detected_and_rebuilt(tmp_path):
    from test_bad_inputs import _kws_folder

    from edgernn.data import load_dataset

    root = _kws_folder(tmp_path / "kws")
    first = load_dataset(root)
    cache = Path(first.meta["cache"])
    assert cache.is_file()
    for damage in (cache.read_bytes()[:100], b"garbage", None):
        if damage is None:  # valid npz, wrong content
            with open(cache, "wb") as f:
                np.savez(f, train_X=np.zeros((1, 2, 3)), train_y=np.zeros(1), val_X=np.zeros(1), val_y=np.zeros(1),
                         test_X=np.zeros(1), test_y=np.zeros(1))
        else:
            cache.write_bytes(damage)
        again = load_dataset(root)
        for s in ("train", "val", "test"):
            np.testing.assert_array_equal(again.splits[s].X, first.splits[s].X)
            np.testing.assert_array_equal(again.splits[s].y, first.splits[s].y)
        with np.load(cache) as z:  # and the cache is whole again
            assert z["train_X"].shape == first.splits["train"].X.shape


# --- artifacts and their records ---------------------------------------------------------------------------------

def test_quantize_never_leaves_a_model_without_its_record(tiny_runs, tmp_path, monkeypatch):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(tiny_runs["lstm"], run, ignore=shutil.ignore_patterns("*.tflite", "quantize_*"))

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(io, "write_json", interrupted)
    with pytest.raises(KeyboardInterrupt):
        api.quantize(run, mode="float16", calibration_samples=10)
    assert not (run / "model_float16.tflite").exists()
    monkeypatch.undo()
    model = api.quantize(run, mode="float16", calibration_samples=10)
    import hashlib

    record = json.loads((run / "quantize_float16.json").read_text())
    assert record["model"]["sha256"] == hashlib.sha256(model.read_bytes()).hexdigest()
    assert record["model"]["path"] == str(model)


# --- firmware builds ----------------------------------------------------------------------------------------------

def test_failed_firmware_build_leaves_nothing(int8_gru, tmp_path, monkeypatch):
    from edgernn.targets import toolchain

    real_tool = toolchain.tool
    monkeypatch.setattr(toolchain, "tool", lambda name: "/bin/false" if name == "arm-none-eabi-gcc" else real_tool(name))
    out = tmp_path / "fw"
    with pytest.raises(UserError, match="firmware build failed"):
        api.firmware_build(int8_gru, out=out, vectors=1)
    assert not out.exists()
    out.mkdir()
    (out / "keep.txt").write_text("x")
    with pytest.raises(UserError, match="firmware build failed"):
        api.firmware_build(int8_gru, out=out, vectors=1)
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]


def test_bench_mcu_writes_firmware_only_inside_out(int8_gru, tmp_path):
    import shutil

    model = tmp_path / "models" / "m.tflite"
    model.parent.mkdir()
    shutil.copy(int8_gru, model)
    rows = api.bench([model], target="mcu", out=tmp_path / "bench", vectors=1)
    assert rows[0]["mcu"]["bit_exact_vs_tflm"]
    assert sorted(p.name for p in model.parent.iterdir()) == ["m.tflite"]
    assert Path(rows[0]["mcu"]["elf"]).is_relative_to(tmp_path / "bench")
    assert (tmp_path / "bench" / "results.json").is_file()


def test_firmware_build_refuses_to_replace_a_src_it_did_not_make(int8_gru, tmp_path):
    out = tmp_path / "fw"
    (out / "src").mkdir(parents=True)
    (out / "src" / "main.c").write_text("/* the user's */")
    with pytest.raises(UserError, match="not made by `edgernn firmware build`"):
        api.firmware_build(int8_gru, out=out, vectors=1)
    assert (out / "src" / "main.c").read_text() == "/* the user's */"


# --- --out is checked before any work --------------------------------------------------------------------------------

def test_bench_out_is_checked_before_measuring(int8_gru, tmp_path, monkeypatch):
    from edgernn.bench import harness

    def must_not_run(*a, **k):
        raise AssertionError("measured before checking --out")

    monkeypatch.setattr(harness, "make_target", must_not_run)
    (tmp_path / "f").write_text("x")
    for out in (tmp_path / "f", tmp_path / "f" / "sub"):
        with pytest.raises(UserError, match="not a folder"):
            api.bench([int8_gru], out=out)


def test_onnx_failing_parity_leaves_no_model(tiny_runs, tmp_path, monkeypatch):
    import shutil

    from edgernn.export import onnx as onnx_export

    run = tmp_path / "run"
    shutil.copytree(tiny_runs["gru"], run, ignore=shutil.ignore_patterns("*.onnx", "export_onnx.json", "*.tflite"))
    monkeypatch.setattr(onnx_export, "PARITY_TOLERANCE", -1.0)  # every model now "differs" from Keras
    with pytest.raises(UserError, match="differs from Keras"):
        api.export(run, format="onnx")
    assert not (run / "model.onnx").exists() and not (run / "export_onnx.json").exists()


# --- SIGTERM unwinds like Ctrl-C -----------------------------------------------------------------------------

def test_terminated_command_leaves_no_half_written_folder(tmp_path):
    """`make demo` stops its background training with SIGTERM: the command must remove the folder it was
    writing (as on Ctrl-C), exit 130 and say so in one line."""
    out = tmp_path / "kws"
    proc = subprocess.Popen([sys.executable, "-m", "edgernn.cli", "data", "synth-kws", str(out), "--per-word", "400",
                             "--engines", "espeak", "--workers", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTHONPATH=str(Path(__file__).parents[1])))
    deadline = time.time() + 120
    while not any(p.name.endswith(".partial") for p in tmp_path.iterdir()) and time.time() < deadline:
        time.sleep(0.05)
    assert any(p.name.endswith(".partial") for p in tmp_path.iterdir()), "synthesis never started writing"
    proc.terminate()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1] == "edgernn: interrupted"
    assert list(tmp_path.iterdir()) == []


def test_sigterm_handler_is_only_borrowed():
    import signal

    from edgernn.cli import _terminate_as_interrupt

    before = signal.getsignal(signal.SIGTERM)
    with _terminate_as_interrupt():
        assert signal.getsignal(signal.SIGTERM) is not before
    assert signal.getsignal(signal.SIGTERM) is before
