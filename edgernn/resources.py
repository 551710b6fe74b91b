"""Where edgernn's non-Python files are: the C runtime and firmware sources.

One function answers it for the whole package. A wheel carries the top-level ``firmware/``
tree inside the package as ``edgernn/_data/firmware`` (``setup.py`` copies it at build time, as
emlearn ships its C headers); a source checkout (and an editable install of it) uses
``firmware/`` beside the package. The packaged copy wins when both exist, so an installed
wheel never depends on a source tree that happens to sit next to it.
"""
from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
PACKAGED_FIRMWARE = _PACKAGE / "_data" / "firmware"
SOURCE_FIRMWARE = _PACKAGE.parent / "firmware"


def firmware_dir() -> Path:
    """The firmware tree (``runtime/``, ``boards/``, ``app/``, ...) this installation uses."""
    for candidate in (PACKAGED_FIRMWARE, SOURCE_FIRMWARE):
        if (candidate / "runtime").is_dir():
            return candidate
    # Neither exists (a broken install): return the packaged location so the error that
    # follows names the path a wheel should have.
    return PACKAGED_FIRMWARE
