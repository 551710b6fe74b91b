"""The generated C engine on the host: compiled with the system gcc, loaded with ctypes.

Used to prove the C code generator bit-exact against TFLite Micro, and as a CPU runtime.
Builds are cached per user, in ``$XDG_CACHE_HOME/edgernn/native`` (default ``~/.cache``): a folder
of mode 0700 that must belong to the user, never a folder shared by every user of the machine.
A cached library is named by an HMAC of the model, the runtime sources and the generator version
under a secret key kept in that folder, so knowing the inputs is not enough to plant a file under
the right name; it is loaded only if it belongs to the user and nobody else can write it. If the
cache folder cannot be made safe, the library is built in a private temporary folder instead.

Compiler flags (``native_cflags``): ``-O3``, plus ``-mavx2`` on an x86-64 host whose CPU reports AVX2, which
selects the AVX2 dot-product kernel (``ern_dot_s8_avx2.h``); elsewhere, or with ``simd=False``, the portable
kernels (``ern_dot_s8_ref.h``). Both give the same bits; the flags are part of the cache key.
"""
from __future__ import annotations

import ctypes
import hashlib
import hmac
import os
import platform
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from edgernn.errors import UserError
from edgernn.procs import tied_to_parent
from edgernn.runtimes.base import Runtime, TensorInfo

KEY_FILE = "key"


def _owned_private(st: os.stat_result, kind) -> bool:
    return kind(st.st_mode) and st.st_uid == os.getuid() and not st.st_mode & 0o022


def cache_dir() -> Path | None:
    """The per-user cache folder (created 0700), or None when it is not safely ours."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(base) if os.path.isabs(base) else Path.home() / ".cache"
    folder = base / "edgernn" / "native"
    try:
        folder.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        folder.mkdir(mode=0o700, exist_ok=True)
        for d in (folder.parent, folder):
            st = os.lstat(d)  # lstat: a symlink planted in place of the folder is refused
            if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid():
                return None
        if os.lstat(folder).st_mode & 0o077:
            os.chmod(folder, 0o700)
        if os.lstat(folder.parent).st_mode & 0o022:  # someone else could swap our folder
            return None
    except OSError:
        return None
    return folder


def _secret(folder: Path) -> bytes | None:
    """The folder's random key (mode 0600, ours), created on first use."""
    key = folder / KEY_FILE
    try:
        fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(os.urandom(32))
    except FileExistsError:
        pass
    except OSError:
        return None
    try:
        fd = os.open(key, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if not _owned_private(st, stat.S_ISREG) or st.st_mode & 0o077:
            return None
        secret = f.read(64)
    return secret if len(secret) == 32 else None


def host_has_avx2() -> bool:
    """True on an x86-64 host whose CPU (per /proc/cpuinfo) reports AVX2."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return False
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    return "avx2" in line.split(":", 1)[1].split()
    except OSError:
        pass
    return False


def native_cflags(simd: bool = True) -> list[str]:
    """The optimization flags of the host build: the AVX2 kernels only where the CPU runs them."""
    return ["-O3", "-mavx2"] if simd and host_has_avx2() else ["-O3"]


def build_key(model: bytes, cflags: list[str] | None = None) -> str:
    """What the compiled library depends on: the model, the runtime sources, the generator version, the flags."""
    from edgernn.export.codegen import GENERATOR_VERSION, runtime_sources

    h = hashlib.sha256(model)
    for f in runtime_sources():
        h.update(f.read_bytes())
    h.update(str(GENERATOR_VERSION).encode())
    h.update(" ".join(cflags or []).encode())
    return h.hexdigest()


def _compile(model_path: Path, model: bytes, out: Path, cflags: list[str]) -> None:
    from edgernn.export.codegen import generate_c

    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        raise UserError("no C compiler found (Debian: apt-get install gcc)")
    with tempfile.TemporaryDirectory(prefix="edgernn-native-") as tmp:
        copy = Path(tmp) / "model.tflite"  # generate from the bytes we hashed, not a file that may change
        copy.write_bytes(model)
        src = generate_c(copy, Path(tmp) / "c")
        lib = Path(tmp) / "model.so"
        # the model and the runtime's one translation unit (edgernn_rt.c includes the per-op kernel files)
        sources = [str(Path(src).parent / f) for f in ("model.c", "edgernn_rt.c")]
        proc = subprocess.run(tied_to_parent([cc, "-std=c99", *cflags, "-shared", "-fPIC", "-Wall", "-o", str(lib), *sources]),
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise UserError(f"compiling the generated C for {model_path} failed: {proc.stderr.strip()[-400:]}")
        shutil.copyfile(lib, out)


def build_shared_library(model_path: Path, private_dir: Path | None = None, simd: bool = True) -> Path:
    """Path of the compiled model library: from the per-user cache, or built now.

    Without a safe cache the library goes to ``private_dir`` (or a new private temporary folder).
    ``simd=False`` builds the portable kernels even where the CPU has AVX2."""
    from edgernn.io import read_user_file

    model_path = Path(model_path)
    model = read_user_file(model_path, "TFLite model")
    cflags = native_cflags(simd)
    key = build_key(model, cflags)
    folder = cache_dir()
    secret = _secret(folder) if folder is not None else None
    if folder is None or secret is None:
        target = Path(private_dir or tempfile.mkdtemp(prefix="edgernn-native-")) / f"model-{key[:16]}.so"
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        _compile(model_path, model, target, cflags)
        return target
    lib = folder / f"model-{hmac.new(secret, key.encode(), hashlib.sha256).hexdigest()[:32]}.so"
    try:
        if _owned_private(os.lstat(lib), stat.S_ISREG):
            return lib
        lib.unlink()  # not ours or writable by others: never load it
    except FileNotFoundError:
        pass
    fd, tmp = tempfile.mkstemp(prefix=f".{lib.name}.", suffix=".tmp", dir=folder)
    os.close(fd)
    try:
        _compile(model_path, model, Path(tmp), cflags)
        os.chmod(tmp, 0o700)
        os.replace(tmp, lib)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return lib


class NativeRuntime(Runtime):
    name = "native"

    def __init__(self, path: str | Path, simd: bool = True):
        from edgernn.io import read_user_file
        from edgernn.runtimes.probe import probe_tflite

        self.path = Path(path)
        # input/output quantization as TFLite Micro reads it, read in a child (a crafted file may crash it)
        probed = probe_tflite(self.path, "tflm", read_user_file(self.path, "TFLite model"))
        self._in = TensorInfo(tuple(probed["input"]["shape"]), probed["input"]["dtype"],
                              probed["input"]["scale"], probed["input"]["zero_point"])
        self._out = TensorInfo(tuple(probed["output"]["shape"]), probed["output"]["dtype"],
                               probed["output"]["scale"], probed["output"]["zero_point"])
        self._tmp = tempfile.TemporaryDirectory(prefix="edgernn-native-")
        self.simd = simd and host_has_avx2()  # True: the AVX2 kernels; False: the portable ones
        self.lib = ctypes.CDLL(str(build_shared_library(self.path, Path(self._tmp.name), simd=simd)))
        self.fn = self.lib.edgernn_model_invoke
        self.fn.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
        self.fn.restype = ctypes.c_int
        # fixed input and output buffers, their addresses taken once: the call costs no per-invoke ctypes objects
        # (the C engine is not reentrant anyway: one static arena per model)
        self._xbuf = np.zeros(int(np.prod(self._in.shape)), dtype=np.int8)
        self._obuf = np.zeros(int(np.prod(self._out.shape)), dtype=np.int8)
        self._xp, self._op = self._xbuf.ctypes.data, self._obuf.ctypes.data

    def input_info(self) -> TensorInfo:
        return self._in

    def output_info(self) -> TensorInfo:
        return self._out

    def invoke_raw(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.int8).reshape(-1)
        if x.size != self._xbuf.size:
            raise UserError(f"native runtime: input has {x.size} values, the model takes {self._xbuf.size}")
        self._xbuf[:] = x
        self.fn(self._xp, self._op)
        return self._obuf.reshape(self._out.shape).copy()
