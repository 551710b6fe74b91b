"""No traceback at a normal end or on an interrupt, from the CLI or any of its workers and children
(edgernn.procs: workers leave interrupts to the CLI). Real commands in real processes: `data
synth-kws` with its worker pool (whose workers inherited the CLI's SIGTERM handler and printed
`Traceback ... KeyboardInterrupt` when the pool shut them down) and `train`. An interrupt leaves
nothing half-written. docs/guides/ci-and-fresh-machines.md"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
ENV = dict(os.environ, PYTHONPATH=str(REPO), TF_USE_LEGACY_KERAS="1")
SYNTH = ["data", "synth-kws", "--keywords", "yes,no", "--engines", "espeak", "--workers", "2"]


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "edgernn.cli", *map(str, args)]


def _tiny_npz(path: Path) -> Path:
    rng = np.random.default_rng(0)
    n = 120
    y = rng.integers(0, 3, n)
    X = rng.normal(0, 0.3, (n, 10, 3)).astype(np.float32)
    X[np.arange(n), :, y] += 1.0
    np.savez(path, X=X, y=y, split=np.array(["train"] * 80 + ["val"] * 20 + ["test"] * 20))
    return path


@pytest.mark.slow  # ~15 s alone (TensorFlow starts in train), longer on a busy machine
def test_synth_kws_and_train_end_without_a_traceback(tmp_path):
    synth = subprocess.run(_cli(*SYNTH, tmp_path / "kws", "--per-word", "4", "--unknown-total", "8"),
                           capture_output=True, text=True, env=ENV, timeout=300)
    assert synth.returncode == 0, synth.stderr[-3000:]
    assert "Traceback" not in synth.stderr, synth.stderr[-3000:]  # the pool's two workers printed one each
    assert len(list((tmp_path / "kws").glob("*/*.wav"))) >= 8
    train = subprocess.run(_cli("train", "--task", "classify", "--arch", "gru", "--units", "4", "--epochs", "2",
                                "--data", _tiny_npz(tmp_path / "tiny.npz"), "--out", tmp_path / "run"),
                           capture_output=True, text=True, env=ENV, timeout=300)
    assert train.returncode == 0, train.stderr[-3000:]
    assert "Traceback" not in train.stderr and (tmp_path / "run" / "model.keras").is_file(), train.stderr[-3000:]


def _wait_for(predicate, seconds: float, what: str) -> None:
    deadline = time.time() + seconds
    while not predicate():
        assert time.time() < deadline, f"{what} within {seconds:.0f} s"
        time.sleep(0.05)


def _partials(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.name.endswith(".partial")]


# SIGINT goes to the whole process group, as Ctrl-C in a terminal sends it (workers get it too);
# SIGTERM to the CLI process only, as `kill PID` and `make demo` stopping its background job do.
@pytest.mark.slow
@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
def test_interrupted_synth_kws_and_train_leave_no_traceback_and_nothing_half_written(tmp_path, how):
    (tmp_path / "out").mkdir()
    tiny = _tiny_npz(tmp_path / "tiny.npz")
    commands = {
        "synth-kws": (_cli(*SYNTH, tmp_path / "out" / "kws", "--per-word", "200"),
                      lambda: any(next(p.glob("*/*.wav"), None) for p in _partials(tmp_path / "out"))),  # workers busy
        "train": (_cli("train", "--task", "classify", "--arch", "gru", "--units", "4", "--epochs", "500",
                       "--patience", "500", "--data", tiny, "--out", tmp_path / "out" / "run"),
                  lambda: bool(_partials(tmp_path / "out"))),  # the run folder is being written: fitting
    }
    for name, (argv, started) in commands.items():
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=ENV,
                                start_new_session=True)
        try:
            _wait_for(started, 240, f"{name} started writing")
            time.sleep(1.0)
            if how == "ctrl-c":
                os.killpg(proc.pid, signal.SIGINT)
            else:
                proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=120)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
        assert proc.returncode == 130, f"{name}: {err[-3000:]}"
        assert "Traceback" not in err, f"{name}: {err[-3000:]}"
        assert err.strip().splitlines()[-1] == "edgernn: interrupted", f"{name}: {err[-3000:]}"
        assert list((tmp_path / "out").iterdir()) == [], name  # nothing half-written is left
        _wait_for(lambda: not _group_alive(proc.pid), 30, f"{name}'s workers and children ended")


def _group_alive(pgid: int) -> bool:
    """Whether any process of the group (the CLI's workers and children) is still running."""
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                return True
    return False
