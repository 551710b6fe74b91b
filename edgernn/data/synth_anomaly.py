"""The built-in anomaly dataset: a rotating machine's sensors with labelled faults.

Three channels sampled at 800 Hz: two vibration axes (accel_x, accel_y) and the motor
current. Normal running: a shaft at ~25 Hz whose speed and load drift slowly, its 1x-3x
harmonics, the 50 Hz supply in the current, sensor noise. Faults, each with random
severity and 0.25-1.5 s long, appear only in the test split:
  bearing    periodic decaying resonance bursts at the outer-race frequency (3.6x shaft)
  imbalance  the 1x component grows (and the current ripples with it)
  drift      a sensor offset ramps away
  spike      isolated large samples
  dropout    a channel sticks at its last value
Writes OUT/train.csv and OUT/val.csv (normal only), OUT/test.csv (mixed; label 1 = fault),
each with columns time, accel_x, accel_y, current, label, anomaly_kind.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from edgernn import defaults as D
from edgernn import io
from edgernn.errors import UserError

RATE = 800
CHANNELS = ("accel_x", "accel_y", "current")
KINDS = ("bearing", "imbalance", "drift", "spike", "dropout")


def _smooth_walk(n: int, rng, scale: float, knots_per_s: float = 0.5) -> np.ndarray:
    """A slow random curve: random values at knots, linearly interpolated."""
    knots = max(2, int(n / RATE * knots_per_s) + 2)
    return np.interp(np.arange(n), np.linspace(0, n, knots), rng.normal(0, scale, knots))


def normal_signal(n: int, rng: np.random.Generator) -> np.ndarray:
    """[n, 3] healthy machine: speed/load wander, harmonics, noise."""
    t = np.arange(n) / RATE
    speed = 25.0 * (1 + _smooth_walk(n, rng, 0.04))          # shaft Hz
    load = 1.0 + _smooth_walk(n, rng, 0.15)
    phase = 2 * np.pi * np.cumsum(speed) / RATE
    vib = lambda shift: (1.0 * np.sin(phase + shift) + 0.35 * np.sin(2 * phase + 2 * shift + 0.7)
                         + 0.15 * np.sin(3 * phase + 3 * shift + 1.9)) * (0.8 + 0.2 * load)
    x = vib(0.0) + rng.normal(0, 0.12, n)
    y = vib(np.pi / 2) + rng.normal(0, 0.12, n)
    current = load * (np.sin(2 * np.pi * 50 * t) * 1.0 + 0.05 * np.sin(phase)) + rng.normal(0, 0.05, n)
    return np.stack([x, y, current], axis=1).astype(np.float64)


def inject(sig: np.ndarray, kind: str, start: int, length: int, rng: np.random.Generator) -> None:
    """Add one fault of ``kind`` in [start, start + length) in place, random severity."""
    seg = slice(start, start + length)
    t = np.arange(length) / RATE
    severity = rng.uniform(0.5, 1.0)
    if kind == "bearing":
        period = 1 / (25.0 * 3.6)
        phase = (t % period) / period
        bursts = np.exp(-phase * period * 400) * np.sin(2 * np.pi * 310 * t)
        sig[seg, 0] += 1.6 * severity * bursts
        sig[seg, 1] += 1.1 * severity * bursts
    elif kind == "imbalance":
        ramp = np.minimum(1, t / 0.1)
        gain = 1 + 1.5 * severity * ramp
        sig[seg, 0] *= gain
        sig[seg, 1] *= gain
        sig[seg, 2] *= 1 + 0.3 * severity * ramp * np.sin(2 * np.pi * 25 * t)
    elif kind == "drift":
        ch = rng.integers(3)
        sig[seg, ch] += np.sign(rng.normal()) * 2.5 * severity * t / max(t[-1], 1e-9)
    elif kind == "spike":
        ch = rng.integers(3)
        at = start + rng.choice(length, size=max(1, length // 40), replace=False)
        sig[at, ch] += rng.choice([-1, 1], size=len(at)) * rng.uniform(3, 6, len(at)) * severity
    elif kind == "dropout":
        ch = rng.integers(3)
        sig[seg, ch] = sig[start - 1, ch] if start > 0 else 0.0
    else:
        raise ValueError(kind)


def faulty_signal(n: int, rng: np.random.Generator, fraction: float = 0.35):
    """Normal signal with faults over about ``fraction`` of the time; returns (sig, label, kind)."""
    sig = normal_signal(n, rng)
    label = np.zeros(n, dtype=np.int64)
    kind_of = np.full(n, "", dtype=object)
    pos, k = int(RATE * 0.5), 0
    while pos < n - RATE:
        gap = int(rng.uniform(0.5, 1.0) * RATE / fraction * 0.6)
        length = int(rng.uniform(0.25, 1.5) * RATE)
        start = pos + gap
        if start + length >= n:
            break
        kind = KINDS[k % len(KINDS)]
        inject(sig, kind, start, length, rng)
        label[start:start + length] = 1
        kind_of[start:start + length] = kind
        pos, k = start + length, k + 1
    return sig, label, kind_of


def _csv(sig: np.ndarray, label: np.ndarray, kind) -> str:
    lines = ["time," + ",".join(CHANNELS) + ",label,anomaly_kind"]
    t = np.arange(len(sig)) / RATE
    for i in range(len(sig)):
        lines.append(f"{t[i]:.5f},{sig[i, 0]:.4f},{sig[i, 1]:.4f},{sig[i, 2]:.4f},{label[i]},{kind[i]}")
    return "\n".join(lines) + "\n"


MAX_SECONDS = 24 * 3600  # a day of 800 Hz signal is ~200 MB of CSV per split


def synth_anomaly(out: str | Path, seed: int = D.SEED, train_seconds: float = D.ANOMALY_TRAIN_SECONDS,
                  val_seconds: float = D.ANOMALY_VAL_SECONDS,
                  test_seconds: float = D.ANOMALY_TEST_SECONDS, overwrite: bool = False) -> Path:
    """Write the rotating-machine anomaly dataset (train/val normal, test with faults) to ``out``."""
    for name, seconds in (("--train-seconds", train_seconds), ("--val-seconds", val_seconds),
                          ("--test-seconds", test_seconds)):
        if not (isinstance(seconds, (int, float)) and 5 <= seconds <= MAX_SECONDS):  # NaN fails both tests
            raise UserError(f"{name} must be between 5 and {MAX_SECONDS} seconds, got {seconds}")
    rng = np.random.default_rng(seed)
    out = io.check_out(out, "folder", overwrite=overwrite, replace=True)
    with io.atomic_dir(out, overwrite=overwrite) as tmp:
        counts = {}
        for name, seconds in (("train", train_seconds), ("val", val_seconds)):
            n = int(seconds * RATE)
            io.atomic_write_text(tmp / f"{name}.csv", _csv(normal_signal(n, rng), np.zeros(n, int), [""] * n))
        sig, label, kind = faulty_signal(int(test_seconds * RATE), rng)
        io.atomic_write_text(tmp / "test.csv", _csv(sig, label, kind))
        for k in KINDS:
            counts[k] = int(np.sum(kind == k)) / RATE
        io.write_json(tmp / "edgernn_dataset.json", io.record(
            "data synth-anomaly", {}, {"seed": seed, "train_seconds": train_seconds, "val_seconds": val_seconds,
                                       "test_seconds": test_seconds},
            {"sample_rate": RATE, "channels": list(CHANNELS), "anomaly_seconds": counts,
             "anomalous_fraction_test": float(label.mean())}))
    return out
