"""Keras (tf_keras) as a runtime: the float reference every artifact is checked against."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from edgernn.runtimes.base import Runtime, TensorInfo


class KerasRuntime(Runtime):
    name = "keras"

    def __init__(self, path: str | Path):
        from edgernn.io import load_keras_model
        from edgernn.tf import load

        tf, _ = load()
        self.path = Path(path)
        self.model = load_keras_model(self.path)  # the one safe loader: zip .keras with safe_mode only
        # A traced call avoids Keras' per-call Python overhead, so latency reflects the model.
        self._call = tf.function(lambda x: self.model(x, training=False), reduce_retracing=True)

    def input_info(self) -> TensorInfo:
        return TensorInfo((1, *self.model.input_shape[1:]), "float32")

    def output_info(self) -> TensorInfo:
        return TensorInfo((1, *self.model.output_shape[1:]), "float32")

    def invoke(self, x: np.ndarray) -> np.ndarray:
        return self._call(np.asarray(x, dtype=np.float32)).numpy()

    def invoke_raw(self, x: np.ndarray) -> np.ndarray:  # float model: raw is float
        return self.invoke(x)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.model.predict(np.asarray(X, dtype=np.float32), batch_size=256, verbose=0)
