"""ONNX export: tf2onnx from the Keras model (native ONNX GRU/LSTM ops), checked on onnxruntime.

``int8=True`` adds onnxruntime's dynamic quantization (int8 weights of MatMul/Gemm and of the
recurrent ops onnxruntime knows how to quantize; activations quantized on the fly). Static QDQ
quantization in onnxruntime does not cover the GRU/LSTM ops, so dynamic is used; the record
lists which ops ended up quantized.
"""
from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path

import numpy as np

from edgernn import io
from edgernn.errors import UserError
from edgernn.train.run import check_run, load_data_for_run, load_run, prepare_inputs

PARITY_TOLERANCE = 1e-4


def op_counts(path: Path) -> dict[str, int]:
    import onnx

    return dict(sorted(Counter(n.op_type for n in onnx.load(str(path)).graph.node).items()))


def keras_to_onnx(model, input_shape, out: Path, opset: int = 17) -> None:
    from edgernn.export.onnx_rnn import is_rnn_classifier, rnn_onnx

    if is_rnn_classifier(model):  # tf2onnx has no SimpleRNN rewriter: it would emit a generic Loop
        io.atomic_write_bytes(out, rnn_onnx(model, opset).SerializeToString())
        return
    import tf2onnx

    from edgernn.tf import _quiet_stderr, load

    tf, _ = load()
    spec = [tf.TensorSpec([None, *input_shape], tf.float32, name="features")]
    with tempfile.TemporaryDirectory() as tmp, _quiet_stderr():
        model_proto, _ = tf2onnx.convert.from_keras(model, input_signature=spec, opset=opset)
        tmp_path = Path(tmp) / "m.onnx"
        tmp_path.write_bytes(model_proto.SerializeToString())
        io.atomic_write_bytes(out, tmp_path.read_bytes())


def onnxruntime_outputs(path: Path, X: np.ndarray) -> np.ndarray:
    """The exported graph on onnxruntime, one thread, the whole batch at once (its batch is dynamic).
    Called directly rather than through edgernn.runtimes, which comes after export in the pipeline."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads, opts.inter_op_num_threads, opts.log_severity_level = 1, 1, 3
    try:
        session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    except Exception as e:
        raise UserError(f"{path}: onnxruntime cannot load it ({str(e).splitlines()[0][:160]})") from None
    return session.run(None, {session.get_inputs()[0].name: np.asarray(X, dtype=np.float32)})[0]


def export_onnx(run: str | Path, int8: bool = False, out: str | Path | None = None, samples: int = 200) -> Path:
    """Write RUN/model.onnx (and model_int8.onnx with ``int8``) plus export_onnx.json; returns the last file."""

    run = check_run(run)
    model, config = load_run(run)
    float_path = run / "model.onnx" if (out is None or int8) else Path(out)
    result = Path(out) if (out and int8) else run / "model_int8.onnx" if int8 else float_path
    for p in {float_path, result}:
        io.check_out(p, "file")
    # Built and checked in a private folder; the record is written first and the models renamed into place
    # last, so a failed parity check or an interruption leaves no model without its record.
    with tempfile.TemporaryDirectory(prefix="edgernn-onnx-") as tmp:
        staged_float, staged_int8 = Path(tmp) / "model.onnx", Path(tmp) / "model_int8.onnx"
        keras_to_onnx(model, config.input_shape, staged_float)
        X = prepare_inputs(load_data_for_run(config).splits["test"].X[:samples], config)
        ref = model.predict(X, batch_size=256, verbose=0)
        got = onnxruntime_outputs(staged_float, X)
        diff = float(np.abs(ref - got).max())
        record = {"float": {"model": str(float_path), "bytes": staged_float.stat().st_size,
                            "ops": op_counts(staged_float), "max_abs_diff_vs_keras": diff, "samples": len(X),
                            "tolerance": PARITY_TOLERANCE, "within_tolerance": diff <= PARITY_TOLERANCE}}
        if diff > PARITY_TOLERANCE:
            raise UserError(f"{float_path}: onnxruntime output differs from Keras by {diff:.2e} (> {PARITY_TOLERANCE})")
        if int8:
            quantize_onnx(staged_float, staged_int8)
            q = onnxruntime_outputs(staged_int8, X)
            record["int8"] = {"model": str(result), "bytes": staged_int8.stat().st_size, "ops": op_counts(staged_int8),
                              "method": "onnxruntime.quantization.quantize_dynamic (int8 weights)",
                              "max_abs_diff_vs_keras": float(np.abs(ref - q).max())}
            if config.task != "anomaly":
                record["int8"]["argmax_agreement_vs_keras"] = float((ref.argmax(-1) == q.argmax(-1)).mean())
        io.write_json(run / "export_onnx.json", io.record("export onnx", {"run": str(run)}, {"int8": int8},
                                                          {"model": str(result)}, record))
        io.atomic_write_bytes(float_path, staged_float.read_bytes())
        if int8:
            io.atomic_write_bytes(result, staged_int8.read_bytes())
    return result


def quantize_onnx(src: Path, dst: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory() as tmp:
        tmp_out = Path(tmp) / "q.onnx"
        quantize_dynamic(str(src), str(tmp_out), weight_type=QuantType.QInt8)
        io.atomic_write_bytes(dst, tmp_out.read_bytes())
