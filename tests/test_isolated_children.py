"""Isolated children (issue #30 item 2, docs/design/hardening.md): every Python child edgernn starts runs
``python -I`` from edgernn.procs.python_argv, so modules planted in the current folder are never imported.

On ffdc600 children ran ``python -m ...`` with the current folder first on sys.path: a ``numpy.py`` there
ran under quantize, eval --runtime tflm, bench (litert, native) and detect on a .tflite.
"""
from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from edgernn import api
from edgernn.procs import python_argv

ROOT = Path(__file__).resolve().parents[1]
EDGERNN = Path(sys.executable).parent / "edgernn"
# numpy and tensorflow (every child imports them), the runtimes' packages, the run config's arch name,
# and edgernn itself (python -m edgernn.<child> would take it from the current folder first)
PLANTED = ("numpy", "tensorflow", "tf_keras", "ai_edge_litert", "tflite_micro", "onnxruntime", "gru", "edgernn")


def plant(folder: Path, markers: Path) -> None:
    """A module per name in ``folder`` that leaves a marker file in ``markers`` when it is imported."""
    markers.mkdir()
    for name in PLANTED:
        (folder / f"{name}.py").write_text(f"open({str(markers / name)!r}, 'w').write('imported')\n")


@pytest.fixture(scope="module")
def runs(tiny_runs, tmp_path_factory):
    """A copy of the tiny GRU run with its int8 model, and the shipped kws model with a 2 s WAV."""
    from edgernn.data.wav import write_wav

    base = tmp_path_factory.mktemp("iso")
    run = base / "gru"
    shutil.copytree(tiny_runs["gru"], run)
    if not (run / "model_int8.tflite").is_file():
        api.quantize(run, mode="int8", calibration_samples=40)
    kws = base / "kws"
    shutil.copytree(ROOT / "models" / "kws-gru64", kws)
    write_wav(base / "a.wav", (np.random.default_rng(0).standard_normal(32000) * 0.05).astype(np.float32))
    return {"run": run, "kws": kws, "wav": base / "a.wav", "base": base}


COMMANDS = {
    "quantize-float16": lambda r: ["quantize", r["run"], "--mode", "float16"],
    "eval-tflm": lambda r: ["eval", r["run"] / "model_int8.tflite", "--runtime", "tflm", "--limit", "5"],
    "bench-litert": lambda r: ["bench", r["run"] / "model_int8.tflite", "--runtimes", "litert", "--warmup", "1",
                               "--runs", "2", "--repeat", "1", "--limit", "5", "--out", r["base"] / "b-litert"],
    "bench-native": lambda r: ["bench", r["run"] / "model_int8.tflite", "--runtimes", "native", "--warmup", "1",
                               "--runs", "2", "--repeat", "1", "--limit", "5", "--out", r["base"] / "b-native"],
    "detect-tflite": lambda r: ["detect", r["kws"] / "model_int8.tflite", r["wav"]],
}


@pytest.mark.slow
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_modules_planted_in_the_current_folder_are_not_imported_by_children(command, runs, tmp_path):
    cwd, markers = tmp_path / "cwd", tmp_path / "markers"
    cwd.mkdir()
    plant(cwd, markers)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run([str(EDGERNN), *map(str, COMMANDS[command](runs))], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=900)
    assert sorted(p.name for p in markers.iterdir()) == [], f"{command}: a child imported a planted module"
    assert proc.returncode == 0, proc.stderr[-2000:]  # and the isolated children still find edgernn


def test_python_children_start_isolated():
    argv = python_argv("-m", "edgernn.runtimes.probe", Path("x"))
    assert argv[:2] == [sys.executable, "-I"] and argv[2:] == ["-m", "edgernn.runtimes.probe", "x"]


def test_an_isolated_child_ignores_the_current_folder_but_finds_edgernn(tmp_path):
    markers = tmp_path / "markers"
    plant(tmp_path, markers)
    code = "import numpy, edgernn.procs; print(numpy.__file__, edgernn.procs.__file__)"
    out = subprocess.run(python_argv("-c", code), cwd=tmp_path, capture_output=True, text=True, check=True).stdout
    assert str(tmp_path) not in out and not any(markers.iterdir())
    # the plant is real: a plain child takes numpy from the current folder
    subprocess.run([sys.executable, "-c", "import numpy"], cwd=tmp_path, check=True)
    assert (markers / "numpy").exists()


def test_only_procs_starts_python():
    """By construction: sys.executable and multiprocessing contexts appear in edgernn/procs.py only."""
    found = []
    for path in sorted((ROOT / "edgernn").rglob("*.py")):
        if path.name == "procs.py" and path.parent.name == "edgernn":
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Attribute) and (
                    (node.attr in ("executable", "_base_executable") and isinstance(node.value, ast.Name)
                     and node.value.id == "sys")
                    or node.attr in ("get_context", "set_executable", "Pool", "Process")):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.attr}")
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] + ([node.module] if isinstance(node, ast.ImportFrom) else [])
                if any(n and n.split(".")[0] in ("multiprocessing", "concurrent") for n in names):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}: imports {names}")
    assert found == []
