"""onnxruntime on the CPU, one thread unless asked otherwise."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from edgernn.errors import UserError
from edgernn.runtimes.base import Runtime, TensorInfo

_TYPES = {"tensor(float)": "float32", "tensor(int8)": "int8", "tensor(uint8)": "uint8"}


class OnnxRuntime(Runtime):
    name = "onnxrt"

    def __init__(self, path: str | Path, threads: int = 1):
        import onnxruntime as ort

        self.path = Path(path)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(str(self.path), opts, providers=["CPUExecutionProvider"])
        except Exception as e:
            raise UserError(f"{self.path}: onnxruntime cannot load it ({str(e).splitlines()[0][:160]})") from None
        self._in = self.session.get_inputs()[0]
        self._out = self.session.get_outputs()[0]
        self.threads = threads

    def _shape(self, arg) -> tuple[int, ...]:
        return tuple(d if isinstance(d, int) else 1 for d in arg.shape)

    def input_info(self) -> TensorInfo:
        return TensorInfo(self._shape(self._in), _TYPES.get(self._in.type, self._in.type))

    def output_info(self) -> TensorInfo:
        return TensorInfo(self._shape(self._out), _TYPES.get(self._out.type, self._out.type))

    def invoke(self, x: np.ndarray) -> np.ndarray:
        return self.session.run([self._out.name], {self._in.name: np.asarray(x, dtype=np.float32)})[0]

    def invoke_raw(self, x: np.ndarray) -> np.ndarray:  # float model: raw is float
        return self.invoke(x)

    def predict(self, X: np.ndarray) -> np.ndarray:
        if self._in.shape[0] in (1,):  # static batch: one by one
            return super().predict(X)
        return self.session.run([self._out.name], {self._in.name: np.asarray(X, dtype=np.float32)})[0]
