"""Host streaming keyword detection: long audio -> model results every ``every_ms`` -> detections.

Follows the streaming timing contract the firmware shares (helpers/STREAM_CONTRACT.md):
- 16 kHz mono int16 PCM; frame k covers samples [k*hop, k*hop + window) (no padding at the start);
- the model runs when the count f of complete frames satisfies f >= num_frames and
  (f - num_frames) % every == 0, on frames f-num_frames .. f-1, standardized with the run's
  mean/std (and, for an int8 model, quantized with its input scale / zero point);
- that result's time is ((f-1)*hop + window) * 1000 // sample_rate;
- scores: int8 output q -> q + 128, float probabilities -> score_from_probability; then
  ``RecognizeCommands.update`` with the run's _silence_/_unknown_ indices ignored and the
  RecognizeConfig stored in the run's config.json (key "streaming").
Frames depend only on their own samples, so computing them over the whole recording at once
(in chunks) gives the frames an incremental front end computes hop by hop.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgernn.errors import UserError
from edgernn.features.frontend import FeatureConfig, dct_matrix, frames, mel_filterbank, power_spectrum, LOG_FLOOR
from edgernn.streaming.recognize import (MAX_RESULTS, Detection, RecognizeCommands, RecognizeConfig,
                                         score_from_int8, score_from_probability)

DEFAULT_EVERY_MS = 200
MAX_AUDIO_SECONDS = 2 * 3600  # bound on a recording detect reads (float32 in memory: ~0.5 GB)
CHUNK_FRAMES = 4096


@dataclass
class Detector:
    """A model plus everything the stream needs from its run folder."""
    config: dict
    features: FeatureConfig
    model_path: Path
    kind: str                  # "keras" | "tflite"
    _model: object = None

    @property
    def class_names(self) -> list[str]:
        return self.config["class_names"]

    @property
    def ignore(self) -> list[int]:
        return [i for i, n in enumerate(self.class_names) if n in ("_silence_", "_unknown_")]

    def recognize_config(self) -> RecognizeConfig:
        stored = self.config.get("streaming") or {}
        fields = {k: stored[k] for k in RecognizeConfig.__dataclass_fields__ if k in stored}
        try:
            return RecognizeConfig(**fields)
        except (TypeError, ValueError) as e:
            raise UserError(f"config.json 'streaming': {e}") from None

    def scores(self, windows: np.ndarray) -> np.ndarray:
        """Raw feature windows [N, T, F] -> uint8-range scores [N, classes] (int)."""
        from edgernn.train.run import prepare_inputs

        X = prepare_inputs(windows, self.config)
        if self.kind == "keras":
            if self._model is None:
                from edgernn.io import load_keras_model

                self._model = load_keras_model(self.model_path)  # the one model gate (docs/design/hardening.md)
            probs = self._model.predict(X, batch_size=512, verbose=0)
            return np.asarray([score_from_probability(p) for p in probs], dtype=np.int64)
        from edgernn.runtimes.base import quantize
        from edgernn.runtimes.litert import LiteRTRuntime

        if self._model is None:
            self._model = LiteRTRuntime(self.model_path)
        rt = self._model
        info_in, info_out = rt.input_info(), rt.output_info()
        out = []
        for i in range(len(X)):
            x = X[i:i + 1]
            q = quantize(x, info_in) if info_in.scale and info_in.dtype != "float32" else x.astype(np.float32)
            y = rt.invoke_raw(q).reshape(-1)
            if info_out.dtype == "int8" and info_out.zero_point == -128 and abs(info_out.scale - 1 / 256) < 1e-9:
                out.append(score_from_int8(y))
            else:
                p = (y.astype(np.float32) - info_out.zero_point) * info_out.scale if info_out.scale else y
                out.append(score_from_probability(p))
        return np.asarray(out, dtype=np.int64)


def load_detector(run_or_model: str | Path) -> Detector:
    """A run folder (its model.keras) or a model file (.keras / .tflite) inside a run folder."""
    from edgernn.io import read_json

    p = Path(run_or_model)
    if p.is_dir():
        run, model = p, p / "model.keras"
    elif p.is_file():
        run, model = p.parent, p
    else:
        raise UserError(f"{p}: no such run folder or model file")
    if not (run / "config.json").is_file():
        raise UserError(f"{p}: no config.json (detect needs the run folder the model came from)")
    if not model.is_file():
        raise UserError(f"{model}: missing")
    if model.suffix not in (".keras", ".tflite"):
        raise UserError(f"{model}: detect runs .keras or .tflite models")
    config = read_json(run / "config.json")
    if config.get("task") != "kws" or "class_names" not in config:
        raise UserError(f"{run}: not a keyword-spotting run (task {config.get('task')!r})")
    feats = (config.get("dataset_meta") or {}).get("features") or {}
    try:
        cfg = FeatureConfig(**feats)
    except TypeError:
        raise UserError(f"{run}/config.json: unreadable feature config") from None
    if cfg.mean_norm:
        raise UserError(f"{run}: trained with per-window mean normalization (mean_norm), a training-study "
                        "option the streaming pipeline does not implement")
    return Detector(config, cfg, model, "keras" if model.suffix == ".keras" else "tflite")


def read_audio(path: str | Path, rate: int) -> np.ndarray:
    """A WAV as float32 in [-1, 1] at ``rate`` (int16 PCM / 32768 for 16-bit 16 kHz files)."""
    import soundfile as sf

    from edgernn.data.wav import read_wav

    p = Path(path)
    if not p.is_file():
        raise UserError(f"{p}: no such file")
    try:
        info = sf.info(str(p))
    except Exception:
        raise UserError(f"{p}: not an audio file soundfile can read (expected a WAV, 16 kHz mono 16-bit)") from None
    if info.frames > MAX_AUDIO_SECONDS * info.samplerate:
        raise UserError(f"{p}: longer than {MAX_AUDIO_SECONDS // 3600} hours; split it")
    return read_wav(p, rate)


def stream_features(x: np.ndarray, cfg: FeatureConfig) -> np.ndarray:
    """Every complete frame of ``x``: [frames, features] (the front end, frame by frame)."""
    n = 0 if len(x) < cfg.window else 1 + (len(x) - cfg.window) // cfg.hop
    fb = mel_filterbank(cfg.sample_rate, cfg.n_fft, cfg.n_mels, cfg.fmin, cfg.fmax)
    out = np.zeros((n, cfg.num_features), dtype=np.float32)
    for k0 in range(0, n, CHUNK_FRAMES):
        k1 = min(n, k0 + CHUNK_FRAMES)
        seg = x[k0 * cfg.hop:(k1 - 1) * cfg.hop + cfg.window]
        logmel = np.log(power_spectrum(frames(seg, cfg.window, cfg.hop), cfg.n_fft) @ fb + LOG_FLOOR)
        out[k0:k1] = logmel @ dct_matrix(cfg.n_mels, cfg.n_mfcc) if cfg.kind == "mfcc" else logmel
    return out


def result_frames(total_frames: int, num_frames: int, every: int) -> np.ndarray:
    """Frame counts f at which the model runs (the contract's schedule)."""
    if total_frames < num_frames:
        return np.zeros(0, dtype=np.int64)
    return np.arange(num_frames, total_frames + 1, every, dtype=np.int64)


def result_time_ms(f: np.ndarray, cfg: FeatureConfig) -> np.ndarray:
    return ((f - 1) * cfg.hop + cfg.window) * 1000 // cfg.sample_rate


def every_frames(every_ms: int, cfg: FeatureConfig) -> int:
    """every_ms as a whole number of hops (the contract requires a positive multiple of hop_ms)."""
    if not isinstance(every_ms, int) or isinstance(every_ms, bool) or every_ms <= 0 or every_ms % cfg.hop_ms:
        raise UserError(f"--every-ms must be a positive multiple of the hop ({cfg.hop_ms:g} ms), got {every_ms}")
    return int(every_ms // cfg.hop_ms)


def model_results(det: Detector, x: np.ndarray, every_ms: int = DEFAULT_EVERY_MS) -> tuple[np.ndarray, np.ndarray]:
    """(time_ms [N], scores [N, classes]) of every model run over the audio ``x``."""
    cfg = det.features
    every = every_frames(every_ms, cfg)
    feats = stream_features(x, cfg)
    fs = result_frames(len(feats), cfg.num_frames, every)
    if len(fs) == 0:
        raise UserError(f"audio of {len(x) / cfg.sample_rate * 1000:.0f} ms is shorter than one model window "
                        f"({cfg.clip_seconds * 1000:.0f} ms)")
    windows = np.stack([feats[f - cfg.num_frames:f] for f in fs])
    return result_time_ms(fs, cfg), det.scores(windows)


def recognize(times: np.ndarray, scores: np.ndarray, num_classes: int, ignore, config: RecognizeConfig
              ) -> list[Detection]:
    rc = RecognizeCommands(num_classes, ignore, config)
    out = []
    for t, s in zip(times.tolist(), scores.tolist()):
        d = rc.update(int(t), s)
        if d is not None:
            out.append(d)
    return out


def detect_file(run_or_model, audio, every_ms: int | None = None, threshold: int | None = None) -> dict:
    """Detections in a recording: {"detections": [{time_ms, label, score}], "results": N, ...}.

    ``every_ms`` and ``threshold`` default to the run's config.json "streaming" values (200 ms, 200/255
    when it has none)."""
    det = load_detector(run_or_model)
    if every_ms is None:
        every_ms = (det.config.get("streaming") or {}).get("every_ms", DEFAULT_EVERY_MS)
        if not isinstance(every_ms, int) or isinstance(every_ms, bool):
            raise UserError(f"{det.model_path.parent}/config.json: 'streaming.every_ms' must be an integer")
    x = read_audio(audio, det.features.sample_rate)
    times, scores = model_results(det, x, every_ms)
    rcfg = det.recognize_config()
    if threshold is not None:
        try:
            rcfg = RecognizeConfig(**{**rcfg.to_dict(), "threshold": int(threshold)})
        except ValueError as e:
            raise UserError(f"--threshold: {e}") from None
    dets = recognize(times, scores, len(det.class_names), det.ignore, rcfg)
    return {"audio": str(audio), "model": str(det.model_path), "seconds": len(x) / det.features.sample_rate,
            "results": int(len(times)), "every_ms": every_ms, "recognize": rcfg.to_dict(),
            "detections": [{"time_ms": d.time_ms, "label": det.class_names[d.label], "score": d.score}
                           for d in dets]}


# --- fast threshold sweep (the same integer rules as RecognizeCommands, vectorized) ---
def smoothed_top(times: np.ndarray, scores: np.ndarray, config: RecognizeConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per result: (top class, its averaged score, result counts in the window), as update() computes them."""
    times = np.asarray(times, dtype=np.int64)
    scores = np.asarray(scores, dtype=np.int64)
    n = len(times)
    first = np.searchsorted(times, times - config.window_ms, side="right")  # keep t_j > t_i - window
    first = np.maximum(first, np.arange(n) - (MAX_RESULTS - 1))
    csum = np.concatenate([np.zeros((1, scores.shape[1]), np.int64), np.cumsum(scores, axis=0)])
    counts = np.arange(n) - first + 1
    avg = (csum[np.arange(n) + 1] - csum[first]) // counts[:, None]
    top = np.argmax(avg, axis=1)  # first maximum: the lowest index on ties
    return top, avg[np.arange(n), top], counts


def fire_times(times, top, top_avg, counts, ignore, config: RecognizeConfig) -> list[tuple[int, int, int]]:
    """(time_ms, label, score) of every detection for ``config`` given smoothed_top's arrays."""
    ignore = set(int(i) for i in ignore)
    cand = np.flatnonzero((counts >= config.min_count) & (top_avg >= config.threshold) & ~np.isin(top, list(ignore)))
    out, last = [], None
    for i in cand.tolist():
        t = int(times[i])
        if last is not None and t - last < config.suppression_ms:
            continue
        last = t
        out.append((t, int(top[i]), int(top_avg[i])))
    return out
