"""TFLite Micro on the host (tflite-micro's Python interpreter): the microcontroller judge.

The interpreter is reset before every inference so recurrent state never leaks between
independent inputs, as firmware does between keyword windows.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from edgernn.errors import UserError
from edgernn.runtimes.base import Runtime, TensorInfo
from edgernn.tflite.micro import make_interpreter

DEFAULT_ARENA = 256 * 1024


def _info(detail: dict) -> TensorInfo:
    q = detail.get("quantization_parameters") or {}
    scales = q.get("scales", [])
    zps = q.get("zero_points", [])
    return TensorInfo(tuple(int(d) for d in detail["shape"]), np.dtype(detail["dtype"]).name,
                      float(scales[0]) if len(scales) else 0.0, int(zps[0]) if len(zps) else 0)


class TFLMRuntime(Runtime):
    name = "tflm"

    def __init__(self, path: str | Path, arena_size: int | None = None):
        from edgernn.io import read_user_file
        from edgernn.runtimes.probe import probe_tflite

        self.path = Path(path)
        self.arena_size = arena_size or DEFAULT_ARENA
        data = read_user_file(self.path, "TFLite model")
        probe_tflite(self.path, "tflm", data, self.arena_size)  # a crash on this file happens in a child
        try:
            self.interp = make_interpreter(data, self.arena_size)
        except (RuntimeError, ValueError) as e:
            raise UserError(f"{self.path}: TFLite Micro cannot run it ({str(e).splitlines()[0][:200]}); "
                            f"see `edgernn check {self.path} --target tflm`") from None
        self._in = self.interp.get_input_details(0)
        self._out = self.interp.get_output_details(0)

    def input_info(self) -> TensorInfo:
        return _info(self._in)

    def output_info(self) -> TensorInfo:
        return _info(self._out)

    def invoke_raw(self, x: np.ndarray) -> np.ndarray:
        self.interp.reset()
        self.interp.set_input(np.asarray(x, dtype=self._in["dtype"]).reshape(self._in["shape"]), 0)
        self.interp.invoke()
        return np.array(self.interp.get_output(0), copy=True)
