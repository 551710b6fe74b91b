"""The host twin of the firmware's kws app: WAV -> features -> int8 model -> RecognizeCommands.

Follows the streaming timing contract exactly as ``firmware/app/kws.c`` does, so the host and
the device print the same results and detections for the same audio:
- frame k covers samples [k*hop, k*hop + window) and exists once its last sample has arrived
  (no padding at the stream start);
- with f frames complete, the model runs when f >= num_frames and (f - num_frames) % every == 0,
  on frames f - num_frames .. f - 1, standardized with the run's mean/std and quantized with the
  model's input scale and zero point; ``every = every_ms / hop_ms``;
- that result's time is ((f - 1) * hop + window) * 1000 // sample_rate ms;
- int8 scores q + 128 go to ``RecognizeCommands`` with the run's _silence_/_unknown_ ignored and
  the run's "streaming" RecognizeConfig.
Features come from the Python front end (``frontend="python"``, the reference) or from the C front
end built for the host (``frontend="c"``, the device's arithmetic). This module is deliberately
minimal: the schedule and result times come from ``edgernn.streaming.stream`` (the host ``detect``
pipeline), so both follow one implementation of the contract.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgernn import defaults as D
from edgernn.errors import UserError
from edgernn.features.config import FeatureConfig
from edgernn.features.dsp import LOG_FLOOR, dct_matrix, frames, mel_filterbank, power_spectrum
from edgernn.records import RunConfig, read_config
from edgernn.records import check_model_matches as check_record_matches
from edgernn.streaming.recognize import (Detection, RecognizeCommands, RecognizeConfig, score_from_int8,
                                         score_from_probability)
from edgernn.streaming.stream import every_frames, result_frames, result_time_ms

IGNORED_CLASSES = ("_silence_", "_unknown_")
MAX_WAV_SECONDS = 3600


@dataclass(frozen=True)
class KwsSetup:
    """What the host pipeline and the firmware both need from a run and its int8 model."""

    run: Path
    model: Path
    features: FeatureConfig
    mean: tuple
    std: tuple
    class_names: tuple
    ignore: tuple
    recognize: RecognizeConfig


def resolve_run_and_model(path: str | Path) -> tuple[Path, Path]:
    """A run folder (its model_int8.tflite) or an int8 .tflite inside a run folder."""
    p = Path(path)
    if p.is_dir():
        run, model = p, p / "model_int8.tflite"
        if not model.is_file():
            raise UserError(f"{p}: no model_int8.tflite in the run folder (run `edgernn quantize {p} --mode int8`)")
    elif p.is_file():
        run, model = p.parent, p
    else:
        raise UserError(f"{p}: no such run folder or model file")
    if not (run / "config.json").is_file():
        raise UserError(f"{run}: not a run folder (no config.json); the kws app needs the run's feature parameters")
    return run, model


def load_setup(path: str | Path) -> KwsSetup:
    from edgernn.export.frontend_c import feature_config_of_run

    run, model = resolve_run_and_model(path)
    config = read_config(run / "config.json")
    cfg = feature_config_of_run(config)
    names = tuple(config.class_names)
    rec = RecognizeConfig(**config.streaming.recognize_fields()) if config.streaming else RecognizeConfig()
    setup = KwsSetup(run, model, cfg, tuple(config.input_norm.mean), tuple(config.input_norm.std), names,
                     tuple(i for i, n in enumerate(names) if n in IGNORED_CLASSES), rec)
    check_model_matches(setup, config)
    return setup


def model_io(model: Path):
    from edgernn.runtimes.tflm import TFLMRuntime

    ref = TFLMRuntime(model)
    return ref, ref.input_info(), ref.output_info()


def check_model_matches(setup: KwsSetup, config: RunConfig) -> None:
    """The int8 model against the run's record (classes, input shape: the one check every reader makes)."""
    _, inp, out = model_io(setup.model)
    if int(np.prod(inp.shape)) != setup.features.num_frames * setup.features.num_features:
        raise UserError(f"{setup.model}: the model's input {tuple(inp.shape)} does not match the front end "
                        f"({setup.features.num_frames} frames x {setup.features.num_features} features)")
    check_record_matches(config, inp.shape, out.shape, setup.model)
    if inp.dtype != "int8" or not inp.scale:
        raise UserError(f"{setup.model}: the kws app needs an int8 model (run `edgernn quantize RUN --mode int8`)")


def read_pcm16(path: str | Path, sample_rate: int, max_seconds: float = MAX_WAV_SECONDS) -> np.ndarray:
    """A mono WAV at exactly ``sample_rate`` Hz as int16 samples (no silent resampling or mixing)."""
    import soundfile as sf

    from edgernn.io import check_regular_file

    check_regular_file(path, "WAV file")  # a FIFO named *.wav is refused, not waited on
    try:
        info = sf.info(str(path))
    except Exception as e:  # soundfile raises several types for bad files
        raise UserError(f"{path}: cannot read WAV ({str(e).splitlines()[0][:120]})") from None
    if info.channels != 1:
        raise UserError(f"{path}: {info.channels} channels; the front end takes mono audio")
    if info.samplerate != sample_rate:
        raise UserError(f"{path}: {info.samplerate} Hz; the run's front end takes {sample_rate} Hz")
    if info.frames > max_seconds * sample_rate:
        raise UserError(f"{path}: longer than {max_seconds:g} s")
    pcm, _ = sf.read(str(path), dtype="int16")
    if pcm.size == 0:
        raise UserError(f"{path}: WAV has no samples")
    return np.ascontiguousarray(pcm.reshape(-1))


def python_stream_features(pcm: np.ndarray, cfg: FeatureConfig, fixed: bool = False) -> np.ndarray:
    """Every complete frame of the stream, [frames, features] float32: frontend.py's float arithmetic, or
    with ``fixed`` the device's integer path (features/fixed_point.py), bit for bit."""
    pcm = np.asarray(pcm, dtype=np.int16).reshape(-1)
    if pcm.size < cfg.window:
        return np.zeros((0, cfg.num_features), np.float32)
    if fixed:
        from edgernn.features.fixed_point import fixed_features_pcm

        return fixed_features_pcm(frames(pcm, cfg.window, cfg.hop), cfg)
    x = pcm.astype(np.float32) / np.float32(32768)
    power = power_spectrum(frames(x, cfg.window, cfg.hop), cfg.n_fft)
    logmel = np.log(power @ mel_filterbank(cfg.sample_rate, cfg.n_fft, cfg.n_mels, cfg.fmin, cfg.fmax)
                    + LOG_FLOOR).astype(np.float32)
    if cfg.kind == "logmel":
        return logmel
    return (logmel @ dct_matrix(cfg.n_mels, cfg.n_mfcc)).astype(np.float32)


def stream_int8_features(pcm: np.ndarray, setup: KwsSetup, frontend: str = "python", fixed: bool | None = None
                         ) -> np.ndarray:
    """[frames, features] int8 model-input frames of the whole stream. ``fixed``: the integer front end
    of cores without an FPU (default: the run's feature arithmetic)."""
    from edgernn.runtimes.base import quantize

    _, inp, _ = model_io(setup.model)
    fixed = setup.features.arithmetic == "fixed" if fixed is None else fixed
    if frontend == "c":
        from edgernn.runtimes.frontend_native import NativeFrontend

        return NativeFrontend(setup.features, setup.mean, setup.std, inp.scale, inp.zero_point,
                              fixed).int8_frames(pcm)
    if frontend != "python":
        raise UserError(f"unknown front end {frontend!r} (python or c)")
    f = python_stream_features(pcm, setup.features, fixed)
    x = (f - np.asarray(setup.mean, np.float32)) / np.asarray(setup.std, np.float32)
    return quantize(x, inp)


@dataclass(frozen=True)
class StreamRun:
    times_ms: list
    scores: list          # per result: uint8 scores per class
    detections: list      # Detection


def run_stream(pcm: np.ndarray, setup: KwsSetup, every_ms: int = 200, frontend: str = "python",
               fixed: bool | None = None) -> StreamRun:
    """Results and detections of the whole stream, by the timing contract."""
    cfg = setup.features
    every = every_frames(every_ms, cfg)
    feats = stream_int8_features(pcm, setup, frontend, fixed)
    ref, inp, out = model_io(setup.model)
    rec = RecognizeCommands(len(setup.class_names), setup.ignore, setup.recognize)
    times, scores, detections = [], [], []
    fs = result_frames(len(feats), cfg.num_frames, every)
    for f, t in zip(fs.tolist(), result_time_ms(fs, cfg).tolist()):
        y = ref.invoke_raw(feats[f - cfg.num_frames:f].reshape(inp.shape)).reshape(-1)
        s = score_from_int8(y) if out.dtype == "int8" else score_from_probability(y)
        times.append(t)
        scores.append(s)
        d = rec.update(t, s)
        if d is not None:
            detections.append(d)
    return StreamRun(times, scores, detections)


def detections_of_wav(path: str | Path, wav: str | Path, every_ms: int = D.KWS_EVERY_MS, frontend: str = D.KWS_FRONTEND,
                      fixed: bool | None = None) -> list[Detection]:
    setup = load_setup(path)
    return run_stream(read_pcm16(wav, setup.features.sample_rate), setup, every_ms, frontend, fixed).detections
