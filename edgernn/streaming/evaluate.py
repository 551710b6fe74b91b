"""Streaming evaluation: false rejections and false alarms per hour on long synthetic streams.

A stream is built from 1 s clips of a run's dataset laid end to end with gaps of background
noise: keywords at known times among non-keyword words (``_unknown_`` clips) and noise. Two streams:
- calibration: validation-split clips (engines the model trained on); the detection threshold
  is the lowest one whose false alarms per hour there stay within the target;
- test: the held-out engine's clips when the run has one (voices never heard), else the test split.
A detection counts as a hit when its label is a keyword occurring in the stream whose clip began
at most ``MATCH_AFTER_MS`` before it and not after it, and that occurrence has no hit yet; any
other detection is a false alarm. FRR = missed keyword occurrences / keyword occurrences.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from edgernn import defaults as D
from edgernn import io
from edgernn.errors import UserError
from edgernn.records import RunConfig, read_config, write_config
from edgernn.streaming.recognize import RecognizeConfig
from edgernn.streaming.stream import (DEFAULT_EVERY_MS, fire_times, load_detector, model_results, recognize,
                                      smoothed_top)

MATCH_AFTER_MS = 2000   # a word's detection may come up to 1 s after its 1 s clip ends
# ... and 0.5 s later for speech-embedding runs: their window centres the 1 s clip in 2 s (features/speech_embedding.py)
EMBEDDING_EXTRA_MS = 500


def match_after_ms(kind: str) -> int:
    return MATCH_AFTER_MS + (EMBEDDING_EXTRA_MS if kind == "embedding" else 0)
KEYWORD_SHARE = 0.3     # of the words placed in a stream
GAP_S = (0.3, 2.0)      # background-only gap before each word


def stream_clips(config: RunConfig, split: str) -> list[tuple[str, int]]:
    """(path, class index) of the clips a stream may use: a split of the run's dataset, or 'holdout'."""
    from edgernn.data.speech_commands import class_names, hold_out, list_clips

    root = Path(config.data)
    opts = config.data_options
    keywords = (opts.keywords if opts is not None else None) or config.class_names[2:]
    names = class_names(keywords)
    clips = hold_out(list_clips(root, keywords), root, opts.holdout_engine if opts is not None else None)
    rels = clips.get(split, [])
    if not rels:
        raise UserError(f"{root}: no {split} clips to build a stream from")
    return [(str(root / r), names.index(r.split("/")[0]) if r.split("/")[0] in keywords else 1) for r in rels]


def build_stream(clips: list[tuple[str, int]], minutes: float, seed: int, noises: list[np.ndarray],
                 rate: int = 16000) -> tuple[np.ndarray, list[tuple[int, int, int]]]:
    """Audio (float32) and the keyword occurrences [(start_ms, end_ms, label)] placed in it."""
    from edgernn.data.wav import read_wav

    rng = np.random.default_rng(seed)
    total = int(minutes * 60 * rate)
    audio = np.zeros(total, dtype=np.float32)
    kw = [c for c in clips if c[1] > 1]
    other = [c for c in clips if c[1] <= 1]
    cache: dict[str, np.ndarray] = {}
    truth, at = [], int(rate * rng.uniform(*GAP_S))
    while at + rate < total:
        pool = kw if (rng.random() < KEYWORD_SHARE and kw) or not other else other
        path, label = pool[rng.integers(len(pool))]
        if path not in cache:
            cache[path] = read_wav(path, rate)[:rate]
        x = cache[path] * np.float32(10 ** rng.uniform(-0.5, 0.0))
        audio[at:at + len(x)] += x
        if label > 1:
            truth.append((at * 1000 // rate, (at + len(x)) * 1000 // rate, int(label)))
        at += len(x) + int(rate * rng.uniform(*GAP_S))
    if noises:  # a continuous quiet background under everything
        bed = np.concatenate([noises[rng.integers(len(noises))] for _ in range(total // min(len(n) for n in noises) + 1)])
        audio += bed[:total] * np.float32(10 ** rng.uniform(-1.5, -1.0))
    return np.clip(audio, -1, 1), truth


def score_detections(dets: list[tuple[int, int, int]], truth: list[tuple[int, int, int]], hours: float,
                     match_after: int = MATCH_AFTER_MS) -> dict:
    """Hits, misses, false alarms of (time_ms, label, score) detections against keyword occurrences."""
    starts = np.array([s for s, _, _ in truth], dtype=np.int64)
    used = np.zeros(len(truth), dtype=bool)
    false_alarms = 0
    for t, label, _ in dets:
        lo = np.searchsorted(starts, t - match_after, side="left")
        hi = np.searchsorted(starts, t, side="right")
        hit = next((j for j in range(lo, hi) if not used[j] and truth[j][2] == label), None)
        if hit is None:
            false_alarms += 1
        else:
            used[hit] = True
    n = len(truth)
    return {"keywords": n, "hits": int(used.sum()), "false_rejection_rate": float(1 - used.sum() / n) if n else float("nan"),
            "false_alarms": false_alarms, "false_alarms_per_hour": false_alarms / hours if hours else float("nan")}


def det_curve(times, scores, truth, hours, ignore, base: RecognizeConfig, match_after: int = MATCH_AFTER_MS) -> list[dict]:
    """FRR and false alarms per hour at every threshold 1..255 (same rules as RecognizeCommands)."""
    top, avg, counts = smoothed_top(times, scores, base)
    rows = []
    for thr in range(1, 256):
        cfg = RecognizeConfig(**{**base.to_dict(), "threshold": thr})
        r = score_detections(fire_times(times, top, avg, counts, ignore, cfg), truth, hours, match_after)
        rows.append({"threshold": thr, **r})
    return rows


def calibrate(curve: list[dict], target_fa_per_hour: float) -> int:
    """The lowest threshold (fewest misses) whose false alarms per hour stay within the target."""
    ok = [r["threshold"] for r in curve if r["false_alarms_per_hour"] <= target_fa_per_hour]
    return min(ok) if ok else 255


def _stream_run(det, clips, minutes, seed, noises, every_ms):
    """(times, scores, truth, hours, audio) of the model over a stream of ``clips``."""
    audio, truth = build_stream(clips, minutes, seed, noises, det.features.sample_rate)
    times, scores = model_results(det, audio, every_ms)
    return times, scores, truth, len(audio) / det.features.sample_rate / 3600, audio


def evaluate_streaming(run_or_model, minutes: float = D.STREAM_MINUTES,
                       calibration_minutes: float = D.STREAM_CALIBRATION_MINUTES,
                       target_fa_per_hour: float = D.STREAM_TARGET_FA_PER_HOUR, every_ms: int = DEFAULT_EVERY_MS,
                       seed: int = D.SEED,
                       store: bool = True, progress: bool = True,
                       real_speech_minutes: float = D.STREAM_REAL_SPEECH_MINUTES,
                       verify: str | Path | None = None, verify_threshold: int = D.VERIFY_THRESHOLD,
                       wake_fa_per_hour: float | None = D.VERIFY_WAKE_FA_PER_HOUR) -> dict:
    """Calibrate the threshold on a validation stream, then FRR / FA per hour on the test stream.

    Writes streaming_eval.json and det_curve.png into the run folder and, with ``store``, the
    calibrated RecognizeConfig into config.json (key "streaming").

    ``real_speech_minutes`` > 0 adds real recorded speech (``edgernn.data.real_speech``, fetched
    with ``edgernn data real-speech --fetch``): the threshold must then also keep the validation
    speaker's real-speech stream (a third of that length) within the target, and false alarms per
    hour are measured on that many minutes of held-out speakers over held-out music and noise.

    ``verify`` (a cascade, ``edgernn.streaming.cascade``): a teacher run confirms each detection made at
    the operating threshold on the test stream (and the real-speech stream); the result's "cascade"
    gives FRR and false alarms per hour of the confirmed detections and the verifier's CPU cost.
    ``wake_fa_per_hour``: the student wakes at the threshold calibrated on the same validation streams
    for this many false wake-ups per hour (lower than the operating one: the verifier filters); None:
    at the operating threshold.
    """
    from edgernn.data.speech_commands import background_noises

    if not 0 < minutes <= 120 or not 0 < calibration_minutes <= 120:
        raise UserError("--minutes and --calibration-minutes must be more than 0 and at most 120")
    if not target_fa_per_hour >= 0:
        raise UserError("--target-fa-per-hour must be >= 0")
    if not 0 <= real_speech_minutes <= 600:
        raise UserError("--real-speech-minutes must be between 0 and 600")
    det = load_detector(run_or_model)
    ver = None
    if verify is not None:
        from edgernn.streaming.cascade import load_verifier

        ver = load_verifier(verify, det)
    run = det.model_path.parent
    noises = background_noises(Path(det.config.data), det.features.sample_rate, seed)
    base = det.recognize_config()
    ignore = det.ignore
    holdout = det.config.data_options.holdout_engine if det.config.data_options is not None else None
    test_split = "holdout" if holdout else "test"

    cal = _stream_run(det, stream_clips(det.config, "val"), calibration_minutes, seed + 1, noises, every_ms)
    match = match_after_ms(det.features.kind)
    cal_curve = det_curve(cal[0], cal[1], cal[2], cal[3], ignore, base, match)
    real_val_curve = real_curve = None
    if real_speech_minutes > 0:
        real_val_curve = _real_curve("val", real_speech_minutes / 3, seed + 3, det, noises, every_ms, ignore, base)[0]
        cal_curve = [{**r, "false_alarms_per_hour": max(r["false_alarms_per_hour"], v["false_alarms_per_hour"])}
                     for r, v in zip(cal_curve, real_val_curve)]
    threshold = calibrate(cal_curve, target_fa_per_hour)
    tst = _stream_run(det, stream_clips(det.config, test_split), minutes, seed + 2, noises, every_ms)
    test_curve = det_curve(tst[0], tst[1], tst[2], tst[3], ignore, base, match)
    chosen = RecognizeConfig(**{**base.to_dict(), "threshold": threshold})
    dets = recognize(tst[0], tst[1], len(det.class_names), ignore, chosen)  # the reference rules, once
    at_calibrated = score_detections([(d.time_ms, d.label, d.score) for d in dets], tst[2], tst[3], match)
    oracle_thr = calibrate(test_curve, target_fa_per_hour)
    at_oracle = next(r for r in test_curve if r["threshold"] == oracle_thr)
    result = {
        "model": str(det.model_path), "every_ms": every_ms, "target_fa_per_hour": target_fa_per_hour,
        "test_stream": {"split": test_split, "engine": holdout, "minutes": minutes, "seed": seed + 2},
        "calibration_stream": {"split": "val", "minutes": calibration_minutes, "seed": seed + 1},
        "recognize": chosen.to_dict(),
        "at_calibrated_threshold": at_calibrated,
        "test_operating_point": {"threshold": oracle_thr, **{k: at_oracle[k] for k in at_oracle if k != "threshold"},
                                 "note": "lowest threshold meeting the target on the test stream itself (DET point)"},
        "det_curve": [{k: r[k] for k in ("threshold", "false_rejection_rate", "false_alarms_per_hour")} for r in test_curve],
        "calibration_curve": [{k: r[k] for k in ("threshold", "false_rejection_rate", "false_alarms_per_hour")}
                              for r in cal_curve],
    }
    real = None
    if real_speech_minutes > 0:
        real = _real_curve("heldout", real_speech_minutes, seed + 4, det, noises, every_ms, ignore, base)
        real_curve = real[0]
        result["real_speech"] = real_speech_summary(test_curve, real_curve, threshold, real_speech_minutes)
    if ver is not None:
        wake = chosen
        if wake_fa_per_hour is not None:
            wake = RecognizeConfig(**{**base.to_dict(), "threshold": calibrate(cal_curve, wake_fa_per_hour)})
        woke = dets if wake == chosen else recognize(tst[0], tst[1], len(det.class_names), ignore, wake)
        result["cascade"] = {**_cascade(ver, verify_threshold, det, wake, woke, tst, match, real),
                             "wake_threshold": wake.threshold, "wake_fa_per_hour": wake_fa_per_hour}
    _plot_det(test_curve, cal_curve, threshold, run / "det_curve.png", det.config, real_curve)
    io.write_json(run / "streaming_eval.json", result)
    if store:
        config = read_config(run / "config.json")  # as it is now, not as it was when the stream began
        streaming = {**chosen.to_dict(), "every_ms": every_ms, "calibrated_for_fa_per_hour": target_fa_per_hour}
        write_config(run / "config.json", {**config.to_json(), "streaming": streaming})
    return result


FRR_GOAL = 0.15  # the DET point reported beside the operating threshold: FA/h on real speech at FRR <= 15 %


def _real_curve(role, minutes, seed, det, noises, every_ms, ignore, base) -> tuple:
    """(DET curve, audio, times, scores, hours) of the model over ``role``'s real-speech stream."""
    from edgernn.data.real_speech import real_stream

    rate = det.features.sample_rate
    audio = real_stream(role, minutes, seed, rate, noises)
    times, scores = model_results(det, audio, every_ms)
    hours = len(audio) / rate / 3600
    return det_curve(times, scores, [], hours, ignore, base), audio, times, scores, hours


def _cascade(ver, verify_threshold: int, det, chosen: RecognizeConfig, dets, tst, match: int, real) -> dict:
    """The cascade's figures at the operating threshold: the verifier confirms the student's detections."""
    from edgernn.streaming.cascade import VERIFY_AFTER_MS, VERIFY_BEFORE_MS, verified, verifier_scores

    woke = [(d.time_ms, d.label, d.score) for d in dets]
    scores, cpu = verifier_scores(ver, tst[4], woke)
    out = {"teacher": str(ver.model_path), "verify_threshold": int(verify_threshold),
           "before_ms": VERIFY_BEFORE_MS, "after_ms": VERIFY_AFTER_MS,
           "test_stream": {**score_detections(verified(woke, scores, verify_threshold), tst[2], tst[3], match),
                           "wakeups": len(woke), "wakeups_per_hour": len(woke) / tst[3]}}
    cpus = [cpu] * len(woke)
    if real is not None:
        _, audio, times, rscores, hours = real
        rwoke = [(d.time_ms, d.label, d.score) for d in recognize(times, rscores, len(det.class_names), det.ignore,
                                                                   chosen)]
        vs, rcpu = verifier_scores(ver, audio, rwoke)
        kept = verified(rwoke, vs, verify_threshold)
        out["real_speech"] = {"wakeups": len(rwoke), "wakeups_per_hour": len(rwoke) / hours,
                              "false_alarms": len(kept), "false_alarms_per_hour": len(kept) / hours}
        cpus += [rcpu] * len(rwoke)
    out["verifier_cpu_ms_per_wakeup"] = round(float(np.mean(cpus)) * 1000, 2) if cpus else None
    return out


def real_speech_summary(test_curve: list[dict], real_curve: list[dict], threshold: int, minutes: float) -> dict:
    """False alarms per hour on held-out real speech beside the test stream's FRR, at the operating
    threshold and along the DET curve (FRR from the keyword stream, FA/h from real speech)."""
    by_thr = {r["threshold"]: r for r in test_curve}
    det = [{"threshold": r["threshold"], "false_rejection_rate": by_thr[r["threshold"]]["false_rejection_rate"],
            "false_alarms_per_hour": r["false_alarms_per_hour"], "false_alarms": r["false_alarms"]} for r in real_curve]
    at = next(r for r in det if r["threshold"] == threshold)
    ok = [r for r in det if r["false_rejection_rate"] <= FRR_GOAL]
    best = max(ok, key=lambda r: r["threshold"]) if ok else None  # fewest false alarms within the FRR goal
    return {"minutes": minutes, "speakers": "held-out (edgernn.data.real_speech)",
            "at_operating_threshold": at,
            "at_frr_goal": ({**best, "frr_goal": FRR_GOAL, "note": "DET point: threshold read off the test curves"}
                            if best else None),
            "det_curve": det}


def _plot_det(test_curve, cal_curve, threshold, path: Path, config: RunConfig, real_curve=None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 4))
    for curve, name in ((test_curve, "test stream"), (cal_curve, "calibration stream")):
        fa = [max(r["false_alarms_per_hour"], 0.1) for r in curve]
        ax.plot(fa, [r["false_rejection_rate"] * 100 for r in curve], label=name)
    if real_curve is not None:
        ax.plot([max(r["false_alarms_per_hour"], 0.1) for r in real_curve],
                [r["false_rejection_rate"] * 100 for r in test_curve], label="FA/h on held-out real speech")
    r = next(r for r in test_curve if r["threshold"] == threshold)
    ax.plot([max(r["false_alarms_per_hour"], 0.1)], [r["false_rejection_rate"] * 100], "o",
            label=f"calibrated threshold {threshold}/255")
    ax.set_xscale("log")
    ax.set_xlabel("false alarms per hour (0 drawn at 0.1)")
    ax.set_ylabel("false rejection rate (%)")
    ax.set_title(f"DET: {config.arch.upper()}-{config.units}")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    import io as _io

    buf = _io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    io.atomic_write_bytes(path, buf.getvalue())
