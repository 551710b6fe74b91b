"""Where the C sources live: ``firmware/`` (runtime kernels, boards, apps). The one place that knows.

A source checkout has ``firmware/`` at the top of the tree; an installed wheel carries it as
package data next to the ``edgernn`` package. Everything that copies or compiles firmware
sources asks ``firmware_dir()``.
"""
from __future__ import annotations

from pathlib import Path

from edgernn.errors import UserError

_CANDIDATES = (Path(__file__).resolve().parents[3] / "firmware",    # source tree
               Path(__file__).resolve().parents[2] / "firmware")    # inside the installed package


def firmware_dir() -> Path:
    for d in _CANDIDATES:
        if (d / "runtime" / "ern_common.h").is_file():
            return d
    raise UserError(f"edgernn's C sources (firmware/) not found (looked in {', '.join(map(str, _CANDIDATES))})")


def runtime_dir() -> Path:
    return firmware_dir() / "runtime"


def runtime_files() -> list[Path]:
    """Every runtime source file (for cache keys and tests)."""
    return sorted(p for p in runtime_dir().iterdir() if p.suffix in (".c", ".h"))
