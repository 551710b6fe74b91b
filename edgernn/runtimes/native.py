"""The generated C engine on the host: compiled with the system gcc, loaded with ctypes.

Used to prove the C code generator bit-exact against TFLite Micro, and as a CPU runtime.
Builds are cached by the hash of the model, the runtime sources and the generator version.
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
from edgernn.runtimes.base import Runtime, TensorInfo

CACHE = Path(tempfile.gettempdir()) / "edgernn-native"


def build_shared_library(model_path: Path) -> Path:
    from edgernn.export.codegen import GENERATOR_VERSION, generate_c, runtime_sources

    h = hashlib.sha256(model_path.read_bytes())
    for f in runtime_sources():
        h.update(f.read_bytes())
    h.update(str(GENERATOR_VERSION).encode())
    lib = CACHE / f"model-{h.hexdigest()[:16]}.so"
    if lib.is_file():
        return lib
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        raise UserError("no C compiler found (Debian: apt-get install gcc)")
    with tempfile.TemporaryDirectory() as tmp:
        src = generate_c(model_path, tmp)
        out = Path(tmp) / "model.so"
        proc = subprocess.run([cc, "-std=c99", "-O2", "-shared", "-fPIC", "-Wall", "-o", str(out), str(src),
                               str(Path(tmp) / "edgernn_rt.c")], capture_output=True, text=True)
        if proc.returncode != 0:
            raise UserError(f"compiling the generated C failed: {proc.stderr.strip()[-400:]}")
        CACHE.mkdir(parents=True, exist_ok=True)
        tmp_lib = CACHE / f".{lib.name}.tmp"
        shutil.copy(out, tmp_lib)
        tmp_lib.replace(lib)
    return lib


class NativeRuntime(Runtime):
    name = "native"

    def __init__(self, path: str | Path):
        from edgernn.runtimes.tflm import TFLMRuntime

        self.path = Path(path)
        ref = TFLMRuntime(self.path)  # input/output quantization, read as TFLite Micro reads it
        self._in, self._out = ref.input_info(), ref.output_info()
        self.lib = ctypes.CDLL(str(build_shared_library(self.path)))
        self.fn = self.lib.edgernn_model_invoke
        self.fn.argtypes = [ctypes.POINTER(ctypes.c_int8), ctypes.POINTER(ctypes.c_int8)]
        self.fn.restype = ctypes.c_int

    def input_info(self) -> TensorInfo:
        return self._in

    def output_info(self) -> TensorInfo:
        return self._out

    def invoke_raw(self, x: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(x, dtype=np.int8).reshape(-1)
        out = np.zeros(int(np.prod(self._out.shape)), dtype=np.int8)
        self.fn(x.ctypes.data_as(ctypes.POINTER(ctypes.c_int8)), out.ctypes.data_as(ctypes.POINTER(ctypes.c_int8)))
        return out.reshape(self._out.shape)
