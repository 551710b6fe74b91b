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

from edgernn import defaults as D
from edgernn.errors import UserError
from edgernn.features.config import FeatureConfig
from edgernn.features.dsp import LOG_FLOOR, dct_matrix, frames, mel_filterbank, power_spectrum
from edgernn.records import RunConfig, check_model_matches, read_config
from edgernn.streaming.recognize import (MAX_RESULTS, Detection, RecognizeCommands, RecognizeConfig,
                                         score_from_int8, score_from_probability)

DEFAULT_EVERY_MS = D.KWS_EVERY_MS
MAX_AUDIO_SECONDS = 2 * 3600  # bound of read_audio, which holds a whole recording (detect streams blocks instead)
CHUNK_FRAMES = 4096
CHUNK_BYTES = 32 << 20


@dataclass
class Detector:
    """A model plus everything the stream needs from its run folder."""
    config: RunConfig
    features: FeatureConfig
    model_path: Path
    kind: str                  # "keras" | "tflite"
    _model: object = None

    @property
    def class_names(self) -> list[str]:
        return self.config.class_names

    @property
    def ignore(self) -> list[int]:
        return [i for i, n in enumerate(self.class_names) if n in ("_silence_", "_unknown_")]

    def recognize_config(self) -> RecognizeConfig:
        stored = self.config.streaming
        return RecognizeConfig(**stored.recognize_fields()) if stored is not None else RecognizeConfig()

    def scores(self, windows: np.ndarray) -> np.ndarray:
        """Raw feature windows [N, T, F] -> uint8-range scores [N, classes] (int)."""
        from edgernn.train.run import prepare_inputs

        X = prepare_inputs(windows, self.config)
        if self.kind == "keras":
            probs = self._model.predict(X, batch_size=512, verbose=0)
            return np.asarray([score_from_probability(p) for p in probs], dtype=np.int64)
        from edgernn.runtimes.base import quantize

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
    """A run folder (its model.keras) or a model file (.keras / .tflite) inside a run folder.

    The run's record is checked as every step checks it (``edgernn.records``), and the model against it."""
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
    config = read_config(run / "config.json")
    if config.task != "kws":
        raise UserError(f"{run}: not a keyword-spotting run (task {config.task!r})")
    feats = config.feature_params()
    if feats is None:
        raise UserError(f"{run}/config.json: no feature parameters (dataset_meta.features); detect needs the "
                        "audio front end the model was trained with")
    cfg = feats.feature_config()
    if cfg.mean_norm:
        raise UserError(f"{run}: trained with per-window mean normalization (mean_norm), a training-study "
                        "option the streaming pipeline does not implement")
    det = Detector(config, cfg, model, "keras" if model.suffix == ".keras" else "tflite")
    det._model = _open_model(det)
    return det


def _open_model(det: Detector):
    """The model, loaded once and checked against the record (classes, input shape) before any audio."""
    if det.kind == "keras":
        from edgernn.io import load_keras_model

        model = load_keras_model(det.model_path)
        check_model_matches(det.config, model.input_shape, model.output_shape, det.model_path)
        return model
    from edgernn.runtimes.litert import LiteRTRuntime

    rt = LiteRTRuntime(det.model_path)
    check_model_matches(det.config, rt.input_info().shape, rt.output_info().shape, det.model_path)
    return rt


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
    if cfg.kind == "embedding":
        from edgernn.features.speech_embedding import stream_embeddings

        return stream_embeddings(x)
    n = 0 if len(x) < cfg.window else 1 + (len(x) - cfg.window) // cfg.hop
    fb = mel_filterbank(cfg.sample_rate, cfg.n_fft, cfg.n_mels, cfg.fmin, cfg.fmax)
    out = np.zeros((n, cfg.num_features), dtype=np.float32)
    # frames per chunk: the chunk's complex spectrum stays near CHUNK_BYTES whatever the record's n_fft
    chunk = max(1, min(CHUNK_FRAMES, CHUNK_BYTES // (16 * (cfg.n_fft // 2 + 1))))
    for k0 in range(0, n, chunk):
        k1 = min(n, k0 + chunk)
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


BLOCK_SECONDS = 30.0  # detect reads a recording in blocks of this length: memory does not grow with its length


def stream_results(det: Detector, blocks, every: int):
    """(time_ms, scores) per block of audio: the schedule of ``model_results`` computed incrementally, keeping
    only the samples of the next frame and the frames of one model window between blocks."""
    cfg = det.features
    tail = np.zeros(0, np.float32)                         # samples from frame `done` on
    history = np.zeros((0, cfg.num_features), np.float32)  # the frames just before frame `done`
    done = 0
    for block in blocks:
        buf = np.concatenate([tail, np.asarray(block, np.float32)])
        feats = stream_features(buf, cfg)  # frames done .. done + n - 1
        n = len(feats)
        if n == 0:
            tail = buf
            continue
        tail = buf[n * cfg.hop:]
        window = np.concatenate([history, feats])
        first = done - len(history)  # frame number of window[0]
        fs = result_frames(done + n, cfg.num_frames, every)
        fs = fs[fs > done]
        if len(fs):
            yield result_time_ms(fs, cfg), det.scores(np.stack([window[f - cfg.num_frames - first:f - first]
                                                                 for f in fs]))
        done += n
        history = window[len(window) - (cfg.num_frames - 1):] if cfg.num_frames > 1 else window[:0]


def detect_file(run_or_model, audio, every_ms: int | None = None, threshold: int | None = None,
                block_seconds: float = BLOCK_SECONDS) -> dict:
    """Detections in a recording: {"detections": [{time_ms, label, score}], "results": N, ...}.

    ``every_ms`` and ``threshold`` default to the run's config.json "streaming" values (200 ms, 200/255
    when it has none). The recording is read and processed in blocks of ``block_seconds`` (hours of audio
    in bounded memory); the results equal those of ``model_results`` on the whole recording."""
    from edgernn.data.wav import wav_blocks

    det = load_detector(run_or_model)
    if every_ms is None:
        stored = det.config.streaming.every_ms if det.config.streaming is not None else None
        every_ms = stored if stored is not None else DEFAULT_EVERY_MS
    every = every_frames(every_ms, det.features)
    rcfg = det.recognize_config()
    if threshold is not None:
        try:
            rcfg = RecognizeConfig(**{**rcfg.to_dict(), "threshold": int(threshold)})
        except ValueError as e:
            raise UserError(f"--threshold: {e}") from None
    seconds, blocks = wav_blocks(audio, det.features.sample_rate, block_seconds)
    rc = RecognizeCommands(len(det.class_names), det.ignore, rcfg)
    dets, results = [], 0
    for times, scores in stream_results(det, blocks, every):
        results += len(times)
        for t, s in zip(times.tolist(), scores.tolist()):
            d = rc.update(int(t), s)
            if d is not None:
                dets.append(d)
    if results == 0:
        raise UserError(f"audio of {seconds * 1000:.0f} ms is shorter than one model window "
                        f"({det.features.clip_seconds * 1000:.0f} ms)")
    return {"audio": str(audio), "model": str(det.model_path), "seconds": seconds,
            "results": int(results), "every_ms": every_ms, "recognize": rcfg.to_dict(),
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
