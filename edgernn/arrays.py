"""The one reader of ``.npy`` and ``.npz`` files that come from users (docs/design/hardening-outputs.md).

``numpy.load`` trusts the file: a member that is not a ``.npy`` file raises whatever its parser meets, a
pickled member runs code if pickles are allowed, and a header that claims a terabyte shape makes numpy
allocate it before it finds the data missing (MemoryError). Here every member must be a real ``.npy``
file: its magic and header are read with ``numpy.lib.format``, object dtypes are refused (no pickles),
and the bytes the header's shape and dtype need are compared with the bytes the member actually holds
before any array is allocated.
"""
from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np
from numpy.lib import format as npformat

from edgernn.errors import UserError
from edgernn.io import check_regular_file, check_zip_bounds

MAX_NPZ_BYTES = 4 * 1024 ** 3        # the file on disk
MAX_ARRAY_BYTES = 4 * 1024 ** 3      # one array in memory
MAX_MEMBERS = 64                     # a dataset .npz has a handful of arrays
MAX_HEADER_BYTES = 64 * 1024         # numpy writes headers of ~128 bytes; its own limit is 10 000 by default


def read_npz(path: str | os.PathLike, what: str = ".npz file", max_bytes: int = MAX_NPZ_BYTES) -> dict[str, np.ndarray]:
    """{name: array} of every member of a user's ``.npz`` (names without ``.npy``); one UserError for any
    problem: not a zip, a member that is not a ``.npy`` file, an object (pickle) dtype, a header whose
    shape needs more bytes than the member holds, too many members or bytes."""
    path = Path(path)
    check_regular_file(path, what, max_bytes)  # FIFOs and devices refused, never read
    check_zip_bounds(path, None, what, max_unpacked=2 * max_bytes, max_members=MAX_MEMBERS)
    arrays = {}
    try:
        with zipfile.ZipFile(path) as z:
            for info in z.infolist():
                name = info.filename
                if not name.endswith(".npy") or info.is_dir():
                    raise UserError(f"{path}: member {name[:80]!r} is not a .npy array")
                with z.open(info) as f:
                    arrays[name[:-len(".npy")]] = _read_npy_stream(f, info.file_size, f"{path}: member {name[:80]!r}")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, NotImplementedError) as e:
        raise UserError(f"{path}: not a readable {what} ({str(e)[:100]})") from None
    return arrays


def read_npy(path: str | os.PathLike, what: str = ".npy file", max_bytes: int = MAX_ARRAY_BYTES) -> np.ndarray:
    """The array in a user's ``.npy`` file, checked as ``read_npz`` checks each member."""
    path = Path(path)
    check_regular_file(path, what, max_bytes + MAX_HEADER_BYTES)
    with open(path, "rb") as f:
        return _read_npy_stream(f, os.fstat(f.fileno()).st_size, str(path))


def _read_npy_stream(f, size: int, where: str) -> np.ndarray:
    """Parse the header, check the sizes, then read exactly the data the header announces."""
    try:
        major, minor = npformat.read_magic(f)
        if (major, minor) == (1, 0):
            shape, fortran, dtype = npformat.read_array_header_1_0(f, max_header_size=MAX_HEADER_BYTES)
        elif (major, minor) in ((2, 0), (3, 0)):
            shape, fortran, dtype = npformat.read_array_header_2_0(f, max_header_size=MAX_HEADER_BYTES)
        else:
            raise ValueError(f"unknown .npy version {major}.{minor}")
    except (ValueError, EOFError, SyntaxError, TypeError, OSError) as e:
        raise UserError(f"{where}: not a .npy array ({str(e).splitlines()[0][:100] if str(e) else type(e).__name__})") from None
    if dtype.hasobject:
        raise UserError(f"{where}: holds Python objects (a pickle); only plain numeric or text arrays are read")
    if any(not isinstance(d, int) or d < 0 for d in shape):
        raise UserError(f"{where}: invalid shape {shape}")
    count = 1
    for d in shape:  # Python integers: a shape claiming terabytes cannot overflow here
        count *= d
    need = count * dtype.itemsize
    header = f.tell()
    if need > MAX_ARRAY_BYTES:
        raise UserError(f"{where}: its header claims shape {shape} of {dtype} ({need:,} bytes), more than the "
                        f"{MAX_ARRAY_BYTES:,} allowed")
    if need != size - header:
        raise UserError(f"{where}: its header claims shape {shape} of {dtype} ({need:,} bytes) but the data is "
                        f"{max(size - header, 0):,} bytes")
    data = f.read(need)
    if len(data) != need:
        raise UserError(f"{where}: truncated ({len(data):,} of {need:,} bytes)")
    array = np.frombuffer(data, dtype=dtype, count=count)
    array = array.reshape(shape[::-1]).transpose() if fortran else array.reshape(shape)
    return array.copy()  # writable, and owns its memory
