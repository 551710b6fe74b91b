"""The C feature front end (``firmware/features/``) on the host: compiled with gcc, loaded with ctypes.

Measures the device front end against the Python one (``edgernn.features``) on the same
int16 audio, and gives the host pipeline the device's exact features when asked. Builds are cached
by the hash of the sources and the generated tables.
"""
from __future__ import annotations

import ctypes
import hashlib
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from edgernn.errors import UserError
from edgernn.export.frontend_c import frontend_header
from edgernn.features.config import FeatureConfig
from edgernn.procs import tied_to_parent
from edgernn.resources import firmware_dir

FEATURES_DIR = firmware_dir() / "features"
SOURCES = ("ern_frontend.h", "ern_frontend.c")
CACHE = Path(tempfile.gettempdir()) / "edgernn-native"
# C99 without contraction: the same float operations, in the same order, as arm-none-eabi-gcc -std=c99
CFLAGS = ("-std=c99", "-O2", "-ffp-contract=off", "-fno-fast-math", "-shared", "-fPIC", "-Wall")


def frontend_sources() -> list[Path]:
    files = [FEATURES_DIR / f for f in SOURCES]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise UserError(f"C front end sources not found ({', '.join(missing)}); use edgernn from its source tree")
    return files


def build_frontend_library(tables: str) -> Path:
    h = hashlib.sha256(tables.encode())
    for f in frontend_sources():
        h.update(f.read_bytes())
    h.update(" ".join(CFLAGS).encode())
    lib = CACHE / f"frontend-{h.hexdigest()[:16]}.so"
    if lib.is_file():
        return lib
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        raise UserError("no C compiler found (Debian: apt-get install gcc)")
    with tempfile.TemporaryDirectory() as tmp:
        for f in frontend_sources():
            shutil.copy(f, tmp)
        (Path(tmp) / "ern_frontend_tables.h").write_text(tables)
        out = Path(tmp) / "frontend.so"
        proc = subprocess.run(tied_to_parent([cc, *CFLAGS, "-I", tmp, "-o", str(out), str(Path(tmp) / "ern_frontend.c")]),
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise UserError(f"compiling the C front end failed: {proc.stderr.strip()[-400:]}")
        CACHE.mkdir(parents=True, exist_ok=True)
        tmp_lib = CACHE / f".{lib.name}.{hashlib.sha1(tmp.encode()).hexdigest()[:6]}.tmp"
        shutil.copy(out, tmp_lib)
        tmp_lib.replace(lib)
    return lib


class NativeFrontend:
    """The C front end for one run and model: int16 PCM -> int8 model-input frames (or float features)."""

    def __init__(self, cfg: FeatureConfig, mean, std, input_scale: float, input_zero_point: int,
                 fixed: bool | None = None):
        """``fixed``: the integer path of cores without an FPU (default: the config's arithmetic)."""
        self.cfg = cfg
        self.fixed = cfg.arithmetic == "fixed" if fixed is None else fixed
        self.lib = ctypes.CDLL(str(build_frontend_library(frontend_header(cfg, mean, std, input_scale,
                                                                          input_zero_point, self.fixed))))
        p16, i = ctypes.POINTER(ctypes.c_int16), ctypes.c_int
        self.lib.ern_frontend_clip_s8.argtypes = [p16, i, ctypes.POINTER(ctypes.c_int8), i]
        self.lib.ern_frontend_clip_f32.argtypes = [p16, i, ctypes.POINTER(ctypes.c_float), i]
        self.lib.ern_logf.argtypes = [ctypes.c_float]
        self.lib.ern_logf.restype = ctypes.c_float

    def num_frames(self, n_samples: int) -> int:
        return 0 if n_samples < self.cfg.window else 1 + (n_samples - self.cfg.window) // self.cfg.hop

    def _call(self, fn, pcm: np.ndarray, dtype, ctype):
        pcm = np.ascontiguousarray(pcm, dtype=np.int16).reshape(-1)
        n = self.num_frames(pcm.size)
        out = np.zeros((max(n, 1), self.cfg.num_features), dtype=dtype)
        got = fn(pcm.ctypes.data_as(ctypes.POINTER(ctypes.c_int16)), pcm.size,
                 out.ctypes.data_as(ctypes.POINTER(ctype)), n)
        return out[:got]

    def int8_frames(self, pcm: np.ndarray) -> np.ndarray:
        """[frames, features] int8, streamed through the ring buffer as on the device."""
        return self._call(self.lib.ern_frontend_clip_s8, pcm, np.int8, ctypes.c_int8)

    def float_frames(self, pcm: np.ndarray) -> np.ndarray:
        """[frames, features] float32 MFCCs (or log-mel) before standardization."""
        return self._call(self.lib.ern_frontend_clip_f32, pcm, np.float32, ctypes.c_float)

    def logf(self, x: float) -> float:
        return float(self.lib.ern_logf(x))
