"""Runtimes behind one interface (``edgernn.runtimes.base.Runtime``).

``open_runtime(path, name)`` loads an artifact on a named runtime:
- ``keras``  .keras (tf_keras)               -> runtimes/keras.py  KerasRuntime
- ``litert`` .tflite (ai-edge-litert)        -> runtimes/litert.py LiteRTRuntime
- ``tflm``   .tflite (tflite-micro, host)    -> runtimes/tflm.py   TFLMRuntime
- ``onnxrt`` .onnx (onnxruntime)             -> runtimes/onnxrt.py OnnxRuntime
- ``native`` .tflite via generated C (ctypes) -> runtimes/native.py NativeRuntime
"""
from __future__ import annotations

import importlib
from pathlib import Path

from edgernn.errors import UserError

RUNTIMES = {
    "keras": ("edgernn.runtimes.keras", "KerasRuntime", (".keras",)),
    "litert": ("edgernn.runtimes.litert", "LiteRTRuntime", (".tflite",)),
    "tflm": ("edgernn.runtimes.tflm", "TFLMRuntime", (".tflite",)),
    "onnxrt": ("edgernn.runtimes.onnxrt", "OnnxRuntime", (".onnx",)),
    "native": ("edgernn.runtimes.native", "NativeRuntime", (".tflite",)),
}


def runtimes_for(path: str | Path) -> list[str]:
    """Names of the runtimes that can load this kind of artifact, in preference order."""
    suffix = Path(path).suffix
    return [name for name, (_, _, exts) in RUNTIMES.items() if suffix in exts]


def open_runtime(path: str | Path, name: str | None = None, **options):
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    names = runtimes_for(path)
    if not names:
        raise UserError(f"{path}: unknown artifact type (expected .keras, .tflite or .onnx)")
    name = name or names[0]
    if name not in RUNTIMES:
        raise UserError(f"unknown runtime {name!r} (choose from {', '.join(RUNTIMES)})")
    if name not in names:
        raise UserError(f"runtime {name!r} cannot load {path.suffix} files (use {', '.join(names)})")
    module, cls, _ = RUNTIMES[name]
    return getattr(importlib.import_module(module), cls)(path, **options)
