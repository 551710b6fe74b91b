"""Options are checked before work (issue #30, item 6), and the CLI never ends in a traceback because of
its own output streams (closed or full stdout, an ASCII-only encoding). docs/design/hardening-outputs.md."""
from __future__ import annotations

import math
import os
import subprocess
import sys
import time
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from edgernn.cli import main

EDGERNN = [sys.executable, "-m", "edgernn.cli"]


def _commands(cmd=main, path=()):
    """(name, command) of every leaf command."""
    subs = getattr(cmd, "commands", None)
    if not subs:
        return [(" ".join(path), cmd)]
    return [c for name, sub in sorted(subs.items()) for c in _commands(sub, (*path, name))]


def _numeric_params():
    return [(name, p) for name, cmd in _commands() for p in cmd.params
            if isinstance(p.type, (click.types.IntParamType, click.types.FloatParamType))]


def test_the_walk_sees_the_numeric_options():
    names = {f"{c} {p.name}" for c, p in _numeric_params()}
    assert {"train seed", "bench runs", "compare seeds", "firmware stream timeout", "sweep num_cpus"} <= names
    assert len(names) > 60


@pytest.mark.parametrize("name, param", _numeric_params(), ids=lambda v: v if isinstance(v, str) else v.name)
def test_every_numeric_option_declares_a_bounded_range(name, param):
    t = param.type
    assert isinstance(t, (click.IntRange, click.FloatRange)), f"{name} --{param.name}: {t!r} has no range"
    assert t.min is not None and t.max is not None, f"{name} --{param.name}: range {t!r} is open-ended"
    if isinstance(t, click.FloatRange):  # NaN passes a plain FloatRange (every comparison with NaN is false)
        for bad in ("nan", "inf", "-inf"):
            with pytest.raises(click.BadParameter):
                t.convert(bad, param, None)
    if param.default is not None and not callable(param.default):
        t.convert(param.default, param, None)  # the default is inside its own range


def _cli(*args):
    start = time.perf_counter()
    r = CliRunner().invoke(main, [str(a) for a in args])
    return r, [ln for ln in r.output.splitlines() if ln.startswith("edgernn: error:")], time.perf_counter() - start


@pytest.mark.parametrize("args, option", [
    (["train", "--data", "{d}", "--out", "{o}", "--seed", "-1"], "--seed"),
    (["train", "--data", "{d}", "--out", "{o}", "--seed", str(2**32)], "--seed"),
    (["data", "synth-kws", "{o}", "--seed", str(2**40)], "--seed"),
    (["compare", "--data", "{d}", "--out", "{o}", "--units", "0", "--epochs", "0", "--seeds", "1000000"], "--units"),
    (["compare", "--data", "{d}", "--out", "{o}", "--seeds", "1000000"], "--seeds"),
    (["firmware", "stream", "x.elf", "--wav", "{d}", "--timeout", "nan"], "--timeout"),
    (["firmware", "run", "x.elf", "--timeout", "inf"], "--timeout"),
    (["bench", "{d}", "--runs", "1e9"], "--runs"),
    (["bench", "{d}", "--runs", "1000000000"], "--runs"),
    (["firmware", "build", "{d}", "--vectors", "1e6"], "--vectors"),
    (["firmware", "build", "{d}", "--vectors", "1000000"], "--vectors"),
    (["sweep", "--data", "{d}", "--out", "{o}", "--num-cpus", "0"], "--num-cpus"),
    (["streaming-eval", "{d}", "--minutes", "nan"], "--minutes"),
    (["train", "--data", "{d}", "--out", "{o}", "--lr", "nan"], "--lr"),
    (["prune", "{d}", "--sparsity", "nan"], "--sparsity"),
])
def test_absurd_option_values_are_refused_before_any_work(tmp_path, args, option):
    data = tmp_path / "d.npz"
    data.write_bytes(b"")
    r, errors, seconds = _cli(*[a.format(d=data, o=tmp_path / "o") for a in args])
    assert r.exit_code == 2 and len(errors) == 1 and option in errors[0], r.output
    assert seconds < 5 and not (tmp_path / "o").exists()


def test_a_21600_trial_grid_is_refused_before_any_work(tmp_path):
    data = tmp_path / "d.npz"
    data.write_bytes(b"")
    units = ",".join(str(u) for u in range(1, 121))            # 120
    sparsity = ",".join(f"{s / 100:g}" for s in range(0, 90))  # x 90 x 2 cells = 21,600
    r, errors, seconds = _cli("sweep", "--data", data, "--out", tmp_path / "o", "--arch", "gru,lstm", "--units", units,
                              "--sparsity", sparsity)
    assert r.exit_code == 2 and len(errors) == 1 and "21,600" in errors[0], r.output
    assert seconds < 5 and not (tmp_path / "o").exists()


# --- the CLI's own output streams --------------------------------------------------------------------------

def _run(args, **kw):
    env = dict(os.environ, **kw.pop("env", {}))
    return subprocess.run([*EDGERNN, *args], capture_output=True, text=True, env=env, timeout=120, **kw)


@pytest.mark.parametrize("args", [["--help"], ["train", "--help"], ["data", "bundled", "--list"]])
def test_full_stdout_is_one_error_line(args):
    with open("/dev/full", "w") as full:
        p = subprocess.run([*EDGERNN, *args], stdout=full, stderr=subprocess.PIPE, text=True, timeout=120)
    assert p.returncode == 2 and p.stderr.splitlines() == [
        "edgernn: error: cannot write to standard output (No space left on device)"], p.stderr


@pytest.mark.parametrize("args", [["--help"], ["data", "bundled", "--list"]])
def test_closed_stdout_is_one_error_line(args):
    read, write = os.pipe()
    os.close(read)  # `| head -0`: nobody reads
    try:
        p = subprocess.run([*EDGERNN, *args], stdout=write, stderr=subprocess.PIPE, text=True, timeout=120)
    finally:
        os.close(write)
    assert p.returncode == 2 and "Traceback" not in p.stderr and len(p.stderr.splitlines()) == 1, p.stderr
    assert p.stderr.startswith("edgernn: error: cannot write to standard output")


def test_ascii_only_output_escapes_what_it_cannot_encode(tmp_path):
    import numpy as np

    folder = tmp_path / "données"
    folder.mkdir()
    rng = np.random.default_rng(0)
    np.savez(folder / "x.npz", X=rng.normal(size=(40, 5, 2)).astype(np.float32), y=np.arange(40) % 2)
    p = _run(["data", "info", str(folder / "x.npz")], env={"PYTHONIOENCODING": "ascii"})
    assert p.returncode == 0 and "Traceback" not in p.stderr, p.stderr
    assert "donn\\xe9es" in p.stdout.replace("\n", "")
