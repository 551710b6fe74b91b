"""LiteRT (ai-edge-litert): the TFLite interpreter for CPUs, XNNPACK applied by default."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from edgernn.errors import UserError
from edgernn.runtimes.base import Runtime, TensorInfo


def tensor_info(detail: dict) -> TensorInfo:
    scale, zero_point = detail.get("quantization", (0.0, 0))
    return TensorInfo(tuple(int(d) for d in detail["shape"]), np.dtype(detail["dtype"]).name,
                      float(scale), int(zero_point))


class LiteRTRuntime(Runtime):
    name = "litert"

    def __init__(self, path: str | Path, threads: int = 1):
        from ai_edge_litert.interpreter import Interpreter

        from edgernn.io import read_user_file
        from edgernn.runtimes.probe import probe_tflite

        self.path = Path(path)
        data = read_user_file(self.path, "TFLite model")
        probe_tflite(self.path, "litert", data)  # a crash on this file happens in a child, not here
        try:
            self.interp = Interpreter(model_content=data, num_threads=threads)
            self.interp.allocate_tensors()
        except (ValueError, RuntimeError) as e:
            raise UserError(f"{self.path}: LiteRT cannot load it ({str(e).splitlines()[0][:160]})") from None
        self._in = self.interp.get_input_details()[0]
        self._out = self.interp.get_output_details()[0]
        self.threads = threads

    def input_info(self) -> TensorInfo:
        return tensor_info(self._in)

    def output_info(self) -> TensorInfo:
        return tensor_info(self._out)

    def invoke_raw(self, x: np.ndarray) -> np.ndarray:
        # The fused LSTM keeps its state in variable tensors across invoke(): reset, so every
        # input is an independent sequence (as in Keras and in TFLite Micro after reset()).
        self.interp.reset_all_variables()
        self.interp.set_tensor(self._in["index"], np.asarray(x, dtype=self._in["dtype"]).reshape(self._in["shape"]))
        self.interp.invoke()
        return self.interp.get_tensor(self._out["index"]).copy()
