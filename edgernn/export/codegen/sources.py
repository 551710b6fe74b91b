"""Where the C runtime sources are, for the code generator.

``edgernn.resources.firmware_dir()`` is the one place that knows where ``firmware/`` is (the source
tree, or the copy a wheel carries as package data); this module only checks that the runtime is
there and lists its files.
"""
from __future__ import annotations

from pathlib import Path

from edgernn.errors import UserError
from edgernn.resources import firmware_dir as _located_firmware


def firmware_dir() -> Path:
    d = _located_firmware()
    if not (d / "runtime" / "ern_common.h").is_file():
        raise UserError(f"edgernn's C sources (firmware/runtime) not found at {d}; reinstall edgernn")
    return d


def runtime_dir() -> Path:
    return firmware_dir() / "runtime"


def runtime_files() -> list[Path]:
    """Every runtime source file (for cache keys and tests)."""
    return sorted(p for p in runtime_dir().iterdir() if p.suffix in (".c", ".h"))
