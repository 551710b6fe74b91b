"""Data flows one way: the import-linter contracts of pyproject.toml ([tool.importlinter]) hold.

import-linter (grimp) reads every import statement, those inside functions included, so a cycle
hidden in a function fails the suite too; the second test proves it on a copy of the package.
The layers are drawn in docs/design/architecture.md.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).with_name("lint-imports")
CONTRACTS = {"stages": "Pipeline stages import only the stages below them",
             "foundation": "Shared helpers (errors, io, tf, procs, resources, model_gate) import no stage",
             "features": "features: front ends above config and dsp",
             "targets": "targets: Target classes > firmware apps > qemu, toolchain",
             "codegen": "codegen: emitter > op units > shared arithmetic"}


def lint(root: Path) -> subprocess.CompletedProcess:
    """lint-imports with the repository's contracts on the ``edgernn`` package found under ``root``."""
    env = dict(os.environ, PYTHONPATH=str(root))  # the copy under root, before the installed package
    return subprocess.run([str(LINT), "--config", str(REPO / "pyproject.toml"), "--no-cache"], cwd=root, env=env,
                          capture_output=True, text=True, timeout=300)


def test_import_contracts_hold():
    r = lint(REPO)
    assert r.returncode == 0, r.stdout + r.stderr
    for contract in CONTRACTS.values():
        assert f"{contract} KEPT" in r.stdout, r.stdout


@pytest.mark.parametrize("module,line,contract", [
    # the shared primitives calling back into a front end: the features circle this layout removed
    ("features/dsp.py", "from edgernn.features.frontend import mfcc", "features"),
    # a stage reaching up into a later one, hidden in a function
    ("data/npz.py", "from edgernn.train.loop import train", "stages"),
    ("io.py", "from edgernn.bench.harness import bench", "foundation"),
    # the kws app reaching back into the model app: the targets circle the toolchain/qemu split removed
    ("targets/kws_firmware.py", "from edgernn.targets.mcu import measure", "targets"),
    # the shared fixed-point arithmetic reaching into an op unit: ops own their params, not fixedpoint
    ("export/codegen/fixedpoint.py", "import edgernn.export.codegen.ops", "codegen"),
])
def test_an_import_inside_a_function_breaks_a_contract(tmp_path, module, line, contract):
    shutil.copytree(REPO / "edgernn", tmp_path / "edgernn", ignore=shutil.ignore_patterns("__pycache__", "_data"))
    f = tmp_path / "edgernn" / module
    f.write_text(f.read_text() + f"\n\ndef _hidden():\n    {line}\n\n    return None\n")
    r = lint(tmp_path)
    assert r.returncode == 1, r.stdout + r.stderr
    assert f"{CONTRACTS[contract]} BROKEN" in r.stdout, r.stdout
    importer = "edgernn." + module.removesuffix(".py").replace("/", ".")
    assert f"{importer} -> {line.split()[1]}" in r.stdout  # the report names the import inside the function
