"""TensorFlow Lite Micro's interpreter (the tflite-micro wheel): the one place that creates one."""
from __future__ import annotations


def make_interpreter(model: bytes, arena_size: int):
    """A tflite-micro interpreter, or raise RuntimeError with TFLM's reason."""
    from tflite_micro.python.tflite_micro import runtime

    return runtime.Interpreter.from_bytes(model, arena_size=arena_size)
