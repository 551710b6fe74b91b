"""The one place TensorFlow is imported.

Keras 2 (tf_keras) is used, not Keras 3: tfmot needs it and only Keras 2 keeps LSTM fused
as UNIDIRECTIONAL_SEQUENCE_LSTM in TFLite. ``TF_USE_LEGACY_KERAS`` must be set before the
first TensorFlow import, so every module gets TensorFlow through ``load()``.
"""
from __future__ import annotations

import contextlib
import os
import sys


@contextlib.contextmanager
def _quiet_stderr():
    """Silence file descriptor 2: TensorFlow's C++ start-up logs ignore TF_CPP_MIN_LOG_LEVEL."""
    if os.environ.get("EDGERNN_TF_VERBOSE"):
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def load():
    """Return ``(tf, keras)`` with tf_keras as Keras, quiet logs."""
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    # oneDNN reorders float sums; off, so Keras results are repeatable run to run.
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    if "tensorflow" not in sys.modules:
        with _quiet_stderr():  # the first import prints the C++ start-up logs
            import tensorflow  # noqa: F401
            import tf_keras  # noqa: F401
    import tensorflow as tf
    import tf_keras as keras

    tf.get_logger().setLevel("ERROR")
    return tf, keras


def set_seed(seed: int) -> None:
    import random

    import numpy as np

    _, keras = load()
    random.seed(seed)
    np.random.seed(seed)
    keras.utils.set_random_seed(seed)
