"""``edgernn quantize``: a run's Keras model -> .tflite (int8, float16 or dynamic range).

- int8 (full integer, int8 input and output), calibrated on training samples:
  LSTM through the TFLite converter, which fuses it into UNIDIRECTIONAL_SEQUENCE_LSTM
  (int8 with a 16-bit cell state); GRU classifiers through edgernn's own compact graph
  (``edgernn.optimize.gru_int8``), because the converter's GRU is either huge or crashes;
  vanilla RNN classifiers likewise (``edgernn.optimize.rnn_int8``).
- float16: float16 weights, float compute. dynamic: int8 weights, float activations (hybrid;
  LiteRT only, TFLite Micro rejects hybrid models).
The converter runs in a child process, so a converter crash is reported, not fatal.
"""
from __future__ import annotations

import hashlib
import signal
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from edgernn import defaults as D
from edgernn import io
from edgernn.errors import UserError
from edgernn.procs import python_argv, run_child
from edgernn.records import RunConfig
from edgernn.train.run import check_run, load_config, load_data_for_run, load_run, prepare_inputs

MODES = ("int8", "float16", "dynamic")


def calibration_set(config: RunConfig, samples: int, seed: int = 0) -> np.ndarray:
    """Standardized training inputs, drawn at random (seeded), for int8 ranges."""
    ds = load_data_for_run(config)
    X = ds.splits["train"].X
    pick = np.random.default_rng(seed).choice(len(X), size=min(samples, len(X)), replace=False)
    return prepare_inputs(X[np.sort(pick)], config)


def convert_in_child(run: Path, mode: str, calibration: np.ndarray, timeout: float = 900) -> bytes:
    with tempfile.TemporaryDirectory(prefix="edgernn-convert-") as tmp:
        cal, out = Path(tmp) / "calibration.npy", Path(tmp) / "model.tflite"
        np.save(cal, calibration)
        try:
            proc = run_child(python_argv("-m", "edgernn.optimize._convert_child", run, mode, cal, out),
                             capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise UserError(f"TFLite converter timed out after {timeout:.0f} s converting {run} ({mode})") from None
        if proc.returncode < 0:
            name = signal.Signals(-proc.returncode).name
            raise UserError(f"TFLite converter crashed ({name}) converting {run} to {mode}; "
                            "this is a known converter bug for some recurrent graphs")
        if proc.returncode != 0 or not out.is_file():
            last = (proc.stderr.strip().splitlines() or ["no message"])[-1][:300]
            raise UserError(f"TFLite conversion of {run} to {mode} failed: {last}")
        return out.read_bytes()


def quantize(run: str | Path, mode: str = D.QUANTIZE_MODE, calibration_samples: int = D.QUANTIZE_CALIBRATION_SAMPLES,
             calibration: str = D.QUANTIZE_CALIBRATION, out: str | Path | None = None,
             seed: int = D.SEED, qat_epochs: int = D.QUANTIZE_QAT_EPOCHS, progress: bool = False,
             update_gate: str = D.QUANTIZE_UPDATE_GATE) -> Path:
    """Write ``RUN/model_<mode>.tflite`` (or ``out``) and ``RUN/quantize_<mode>.json``; returns the model path.
    ``update_gate``: the int8 GRU graph's update-gate form, z or complement (gru_int8.with_update_gate)."""
    if mode not in MODES:
        raise UserError(f"unknown mode {mode!r} (choose from {', '.join(MODES)})")
    if calibration_samples < 1:
        raise UserError("--calibration-samples must be at least 1")
    from edgernn.optimize.gru_int8 import CALIBRATIONS, UPDATE_GATES

    if calibration not in CALIBRATIONS:
        raise UserError(f"unknown --calibration {calibration!r} (choose from {', '.join(CALIBRATIONS)})")
    if update_gate not in UPDATE_GATES:
        raise UserError(f"unknown --update-gate {update_gate!r} (choose from {', '.join(UPDATE_GATES)})")
    if qat_epochs < 0:
        raise UserError("--qat-epochs must be >= 0")
    run = check_run(run)
    config = load_config(run)
    if qat_epochs and (mode != "int8" or config.arch not in ("gru", "rnn") or config.task == "anomaly"):
        raise UserError("--qat-epochs fine-tunes int8 GRU and RNN classifiers (edgernn's own int8 graphs); "
                        f"this is {mode} of a {config.arch} {config.task} run")
    out = io.check_out(Path(out) if out else run / f"model_{mode}.tflite", "file",
                       inputs=[run / "model.keras", run / "config.json"])
    cal = calibration_set(config, calibration_samples, seed) if mode == "int8" else np.zeros((1, 1, 1), np.float32)
    if mode == "int8" and config.arch == "gru":
        from edgernn.optimize.gru_int8 import build, build_anomaly

        model, _ = load_run(run)
        qat = _qat(model, config, cal, calibration, qat_epochs, seed, progress, update_gate) if qat_epochs else None
        data = (build_anomaly if config.task == "anomaly" else build)(model, cal, calibration, update_gate)
        method = (f"edgernn compact GRU graph (WHILE loop, own int8 calibration, {calibration} ranges, "
                  f"{'update gate as 1 - z' if update_gate == 'complement' else 'update gate z'})")
    elif mode == "int8" and config.arch == "rnn":
        if config.task == "anomaly":
            raise UserError("int8 RNN anomaly models are not supported yet (RNN int8 covers classifiers); "
                            "use --mode float16 or dynamic, or an LSTM anomaly model")
        from edgernn.optimize.rnn_int8 import build as build_rnn

        model, _ = load_run(run)
        qat = _qat(model, config, cal, calibration, qat_epochs, seed, progress) if qat_epochs else None
        data = build_rnn(model, cal, calibration)
        method = f"edgernn compact RNN graph (WHILE loop, own int8 calibration, {calibration} ranges)"
    else:
        qat = None
        data = convert_in_child(run, mode, cal)
        method = "TFLiteConverter.from_keras_model (child process)"
        if mode == "int8":  # RepeatVector's TILE (the LSTM autoencoder) -> BROADCAST_TO, which TFLite Micro runs
            from edgernn.optimize.tile_free import tile_to_broadcast

            data, replaced = tile_to_broadcast(data)
            method += ", TILE -> BROADCAST_TO" if replaced else ""
    from edgernn.tflite.info import describe

    # The model and its record land together: both are made from a private copy first, then the record is
    # written and the model renamed into place last, so an interrupted quantize never leaves a model
    # without its record (the record names the model's sha256, so a stale pair is detectable).
    with tempfile.TemporaryDirectory(prefix="edgernn-quantize-") as tmp:
        staged = Path(tmp) / out.name
        staged.write_bytes(data)
        params = {"mode": mode, "calibration_samples": len(cal), "calibration": calibration, "seed": seed,
                  "qat_epochs": qat_epochs}
        if mode == "int8" and config.arch == "gru":
            params["update_gate"] = update_gate
        outputs = {"model": str(out), "method": method + (f", {qat_epochs} QAT epochs" if qat_epochs else "")}
        if qat:
            outputs["qat_loss_by_epoch"] = qat
        record = io.record("quantize", {"run": str(run)}, params, outputs, parity(run, staged, config))
        record["model"] = dict(describe(staged), path=str(out), sha256=hashlib.sha256(data).hexdigest())
    io.write_json(out.with_name(f"quantize_{mode}.json") if out.parent == run else out.with_suffix(".json"), record)
    io.atomic_write_bytes(out, data)
    return out


def _qat(model, config: RunConfig, cal: np.ndarray, calibration: str, epochs: int, seed: int, progress: bool,
         update_gate: str = "z") -> list:
    """Quantization-aware fine-tuning of ``model`` in place (edgernn.optimize.qat), on the run's training
    split with the run's class weights, at a tenth of its learning rate; returns the loss per epoch."""
    from edgernn.optimize.qat import qat_finetune
    from edgernn.train.loop import balanced_class_weights, kws_class_weights

    ds = load_data_for_run(config)
    y = np.asarray(ds.splits["train"].y).astype(np.int64)
    weights = balanced_class_weights(y, len(config.class_names)) if config.class_weights else None
    if weights and config.keywords:
        weights = kws_class_weights(weights, config.unknown_weight)
    log = (lambda m: print(m, flush=True)) if progress else None
    return qat_finetune(model, config.arch, prepare_inputs(ds.splits["train"].X, config), y, cal, epochs,
                        lr=config.lr / 10, batch_size=config.batch_size, method=calibration, class_weights=weights,
                        seed=seed, log=log, update_gate=update_gate)


def parity(run: Path, artifact: Path, config: RunConfig, samples: int = 200) -> dict:
    """Keras vs the artifact on LiteRT over test inputs: max |diff| of outputs and argmax agreement."""
    from edgernn.runtimes.keras import KerasRuntime
    from edgernn.runtimes.litert import LiteRTRuntime

    X = prepare_inputs(load_data_for_run(config).splits["test"].X[:samples], config)
    ref = KerasRuntime(run / "model.keras").predict(X)
    got = LiteRTRuntime(artifact).predict(X)
    result = {"samples": len(X), "max_abs_diff_vs_keras": float(np.abs(ref - got).max())}
    if config.task != "anomaly":
        result["argmax_agreement_vs_keras"] = float((ref.argmax(-1) == got.argmax(-1)).mean())
    return result
