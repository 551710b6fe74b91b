"""The interface every runtime (Keras, LiteRT, TFLite Micro, onnxruntime, native C) shares.

The bench harness and ``eval`` only use this interface, so they treat all runtimes alike.
Inputs and outputs at this interface are float32 arrays in model units: a runtime whose
model has int8 input/output quantizes and dequantizes with the model's own parameters.
"""
from __future__ import annotations

import abc
from dataclasses import dataclass

import numpy as np


@dataclass
class TensorInfo:
    shape: tuple[int, ...]
    dtype: str                    # "float32", "int8", ...
    scale: float = 0.0            # quantization; 0.0 when not quantized
    zero_point: int = 0


class Runtime(abc.ABC):
    name: str = "runtime"

    @abc.abstractmethod
    def input_info(self) -> TensorInfo: ...

    @abc.abstractmethod
    def output_info(self) -> TensorInfo: ...

    @abc.abstractmethod
    def invoke_raw(self, x: np.ndarray) -> np.ndarray:
        """Run with tensors in the model's own dtype (int8 models: int8 in, int8 out)."""

    def invoke(self, x: np.ndarray) -> np.ndarray:
        """One batch-1 inference in model units: float32 [1, T, F] -> float32 [1, ...].

        Quantized models get their input quantized and their output dequantized with their own
        scale and zero point; float models pass through.
        """
        info_in, info_out = self.input_info(), self.output_info()
        q = quantize(x, info_in) if info_in.scale and info_in.dtype != "float32" else x
        y = self.invoke_raw(q)
        return dequantize(y, info_out) if info_out.scale and info_out.dtype != "float32" else y.astype(np.float32)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Run every row of ``X`` one at a time (batch 1, as on the device)."""
        return np.concatenate([self.invoke(X[i:i + 1]) for i in range(len(X))], axis=0)

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def quantize(x: np.ndarray, info: TensorInfo) -> np.ndarray:
    """float -> int8/int16 with TFLite's rounding (round half away from zero) and clamping."""
    v = np.asarray(x, dtype=np.float32) / np.float32(info.scale)
    q = np.sign(v) * np.floor(np.abs(v) + 0.5) + info.zero_point  # std::round, not banker's
    lo, hi = np.iinfo(info.dtype).min, np.iinfo(info.dtype).max
    return np.clip(q, lo, hi).astype(info.dtype)


def dequantize(q: np.ndarray, info: TensorInfo) -> np.ndarray:
    return ((q.astype(np.float32) - info.zero_point) * info.scale).astype(np.float32)
