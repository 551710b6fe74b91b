"""Build hook: ship the top-level ``firmware/`` tree inside the wheel.

All metadata lives in pyproject.toml. ``firmware/`` stays at the top level of the repository
(the design card's layout), so setuptools' package-data cannot see it; this hook copies the whole
tree, by pattern rather than by file list, into ``edgernn/_data/firmware`` of the build, where
``edgernn.resources.firmware_dir()`` finds it. New C files under ``firmware/`` ship without
touching this file.
"""
from __future__ import annotations

import fnmatch
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
FIRMWARE = ROOT / "firmware"
# Sources and templates only; never build products a developer may have left in the tree.
SHIP = ("*.c", "*.h", "*.S", "*.s", "*.ld", "*.ld.in", "*.in", "*.txt", "*.md", "*.mk", "Makefile")
SKIP_DIRS = {"__pycache__", "build", ".git"}


def firmware_files(root: Path = FIRMWARE) -> list[Path]:
    files = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if path.is_file() and not SKIP_DIRS.intersection(rel.parts[:-1]) \
                and any(fnmatch.fnmatch(path.name, pattern) for pattern in SHIP):
            files.append(rel)
    return files


class BuildPyWithFirmware(build_py):
    def run(self):
        super().run()
        if not FIRMWARE.is_dir():  # building from an sdist made without MANIFEST.in: fail loudly
            raise SystemExit(f"{FIRMWARE} missing: the wheel would not be able to generate C")
        target = Path(self.build_lib) / "edgernn" / "_data" / "firmware"
        for rel in firmware_files():
            (target / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(FIRMWARE / rel, target / rel)


setup(cmdclass={"build_py": BuildPyWithFirmware})
