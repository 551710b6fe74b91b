"""Keras (tf_keras) as a runtime: the float reference every artifact is checked against."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from edgernn.errors import UserError
from edgernn.runtimes.base import Runtime, TensorInfo


class KerasRuntime(Runtime):
    name = "keras"

    def __init__(self, path: str | Path):
        from edgernn.tf import load

        tf, keras = load()
        self.path = Path(path)
        try:
            self.model = keras.models.load_model(self.path, compile=False)
        except Exception as e:
            raise UserError(f"{self.path}: cannot load Keras model ({str(e).splitlines()[0][:160]})") from None
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
