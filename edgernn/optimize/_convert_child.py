"""Runs the TFLite converter in a child process: a converter segfault must not kill the CLI.

    python -m edgernn.optimize._convert_child RUN MODE CALIBRATION.npy OUT.tflite
"""
from __future__ import annotations

import sys

import numpy as np


def convert(run: str, mode: str, calibration: str, out: str) -> None:
    from edgernn.models import export_model
    from edgernn.tf import load
    from edgernn.train.run import load_run

    tf, _ = load()
    model, config = load_run(run)
    converter = tf.lite.TFLiteConverter.from_keras_model(export_model(model, config, batch_size=1))
    if mode == "float16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    elif mode == "dynamic":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    elif mode == "int8":
        samples = np.load(calibration).astype(np.float32)

        def representative():
            for i in range(len(samples)):
                yield [samples[i:i + 1]]

        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = representative
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    with open(out, "wb") as f:
        f.write(converter.convert())


if __name__ == "__main__":
    from edgernn.procs import die_with_parent

    die_with_parent()  # a killed CLI must not leave the converter running on as an orphan
    convert(*sys.argv[1:5])
