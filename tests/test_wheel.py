"""A built wheel works alone: installed in a fresh venv outside the source tree, it still
generates C for a model and builds firmware (the C runtime and firmware ship as package data)."""
from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from edgernn import api

REPO = Path(__file__).resolve().parents[1]


def _clean_copy(dest: Path) -> Path:
    """The files a clean clone would have (tracked + new, not ignored), or the tree without build litter."""
    try:
        out = subprocess.run(["git", "-C", str(REPO), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                             capture_output=True, check=True).stdout
        files = [f for f in out.decode().split("\0") if f and (REPO / f).is_file()]
    except (OSError, subprocess.CalledProcessError):  # not a git checkout (an sdist): copy what is there
        files = [str(p.relative_to(REPO)) for p in REPO.rglob("*") if p.is_file()
                 and not {".venv", "build", "__pycache__", ".git", "data", "runs"}.intersection(p.relative_to(REPO).parts)]
    for f in files:
        if f.startswith((".venv", "data/", "runs/")):
            continue
        (dest / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / f, dest / f)
    return dest


@pytest.fixture(scope="module")
def wheel_venv(tmp_path_factory):
    src = _clean_copy(tmp_path_factory.mktemp("clone"))
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dist),
                    str(src)], check=True, cwd=dist)
    wheel = next(dist.glob("edgernn-*.whl"))
    venv = tmp_path_factory.mktemp("venv") / "v"
    subprocess.run([getattr(sys, "_base_executable", sys.executable), "-m", "venv", "--without-pip", str(venv)], check=True)
    # Dependencies come from the shared venv's site-packages (appended to sys.path by a .pth file, so its
    # editable edgernn hook is not processed); edgernn itself only from the wheel.
    py = venv / "bin" / "python"
    own_site = Path(subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                   capture_output=True, text=True, check=True).stdout.strip())
    own_site.mkdir(parents=True, exist_ok=True)
    (own_site / "zz_shared_deps.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "-q", str(wheel)], check=True)
    return wheel, venv


def _run(venv: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["TF_USE_LEGACY_KERAS"] = "1"
    return subprocess.run([str(venv / "bin" / args[0]), *args[1:]], capture_output=True, text=True, cwd=cwd, env=env,
                          timeout=600)


def test_wheel_ships_the_whole_firmware_tree(wheel_venv):
    wheel, _ = wheel_venv
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {n.split("edgernn/_data/firmware/", 1)[1] for n in names if n.startswith("edgernn/_data/firmware/")}
    in_repo = {str(p.relative_to(REPO / "firmware")) for p in (REPO / "firmware").rglob("*")
               if p.is_file() and p.suffix in (".c", ".h", ".S", ".ld") and "build" not in p.parts}
    assert in_repo and in_repo <= shipped


def test_installed_wheel_generates_c_and_builds_firmware(wheel_venv, tiny_runs, tmp_path):
    _, venv = wheel_venv
    model = api.quantize(tiny_runs["gru"], mode="int8", calibration_samples=40, out=tmp_path / "m" / "gru_int8.tflite")
    where = _run(venv, "python", "-c", "import edgernn, edgernn.resources as r; print(edgernn.__file__); "
                 "print(r.firmware_dir())", cwd=tmp_path)
    pkg, fw = where.stdout.split()
    assert pkg.startswith(str(venv)) and fw.startswith(str(venv)) and fw.endswith("_data/firmware"), where.stdout
    r = _run(venv, "edgernn", "export", str(model), "--format", "c", "--out", str(tmp_path / "c"), cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    assert {"model.c", "model.h", "edgernn_rt.c", "edgernn_rt.h"} <= {p.name for p in (tmp_path / "c").iterdir()}
    r = _run(venv, "edgernn", "firmware", "build", str(model), "--board", "mps2-an386", "--out", str(tmp_path / "fw"),
             cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    elf = tmp_path / "fw" / "edgernn-mps2-an386.elf"
    assert elf.is_file() and elf.read_bytes()[:4] == b"\x7fELF"
    run = _run(venv, "edgernn", "firmware", "run", str(elf), "--board", "mps2-an386", cwd=tmp_path)
    assert run.returncode == 0 and "mismatch" in run.stdout.lower(), run.stdout + run.stderr
