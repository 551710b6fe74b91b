"""Cascade: a small always-on model wakes, a bigger verifier (teacher) confirms.

``detect --verify TEACHER_RUN`` and ``streaming-eval --verify TEACHER_RUN``: every detection of the
student at ``time_ms`` t is shown to the verifier, which scores the keyword on its own stream windows
ending from t - ``VERIFY_BEFORE_MS`` to t + ``VERIFY_AFTER_MS`` (a speech-embedding window centres
the 1 s clip in 2 s, so it sees a word best about 0.5 s after the word; the verdict therefore comes
up to VERIFY_AFTER_MS after the wake-up). The detection stands when the verifier's best score for
the same keyword (0..255, as RecognizeCommands scores) reaches ``verify_threshold``. The verifier
runs only on wake-ups: its CPU cost is per wake-up, and wake-ups per hour are reported beside it.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from edgernn.streaming.stream import Detector, load_detector, stream_features

VERIFY_BEFORE_MS = 500
VERIFY_AFTER_MS = 500


def load_verifier(teacher: str | Path, student: Detector) -> Detector:
    """The verifier's detector, checked against the student: same classes, same sample rate."""
    from edgernn.train.distill import check_match

    ver = load_detector(teacher)
    check_match(teacher, ver.config, student.class_names, student.features.sample_rate)
    return ver


def verifier_scores(ver: Detector, audio: np.ndarray, detections) -> tuple[list[int], float]:
    """The verifier's best score (0..255) for each detection's keyword, and CPU seconds per detection.

    ``detections``: (time_ms, label index, score) in the audio's time."""
    cfg = ver.features
    rate = cfg.sample_rate
    window = cfg.window + (cfg.num_frames - 1) * cfg.hop  # samples of one verifier window
    out = []
    t0 = time.process_time()
    for t, label, _ in detections:
        end = min(len(audio), int((t + VERIFY_AFTER_MS) * rate // 1000))
        start = max(0, int((t - VERIFY_BEFORE_MS) * rate // 1000) - window)
        feats = stream_features(audio[start:end], cfg)
        if len(feats) < cfg.num_frames:
            out.append(0)
            continue
        windows = np.stack([feats[f - cfg.num_frames:f] for f in range(cfg.num_frames, len(feats) + 1)])
        out.append(int(ver.scores(windows)[:, int(label)].max()))
    cpu = (time.process_time() - t0) / len(detections) if detections else 0.0
    return out, cpu


def verified(detections, scores: list[int], threshold: int) -> list:
    """The detections the verifier confirms."""
    return [d for d, s in zip(detections, scores) if s >= threshold]


def detect_verified(run_or_model, audio, verify: str | Path, verify_threshold: int, every_ms: int | None = None,
                    threshold: int | None = None) -> dict:
    """``detect_file``'s result with the verifier's verdicts: "detections" are the confirmed ones,
    "wakeups" every detection of the student with the verifier's score."""
    from edgernn.streaming.stream import detect_file, read_audio

    student = load_detector(run_or_model)
    ver = load_verifier(verify, student)  # refused before any audio is read
    r = detect_file(run_or_model, audio, every_ms=every_ms, threshold=threshold)
    names = student.class_names
    triples = [(d["time_ms"], names.index(d["label"]), d["score"]) for d in r["detections"]]
    scores, cpu = verifier_scores(ver, read_audio(audio, student.features.sample_rate), triples) if triples \
        else ([], 0.0)
    wakeups = [{**d, "verifier_score": s, "confirmed": s >= verify_threshold} for d, s in zip(r["detections"], scores)]
    return {**r, "detections": [w for w in wakeups if w["confirmed"]], "wakeups": wakeups,
            "verify": {"teacher": str(ver.model_path), "threshold": int(verify_threshold),
                       "before_ms": VERIFY_BEFORE_MS, "after_ms": VERIFY_AFTER_MS,
                       "cpu_ms_per_wakeup": round(cpu * 1000, 2)}}
