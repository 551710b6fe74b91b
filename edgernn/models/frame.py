"""Frame stacking: K consecutive samples become one recurrent step, so T x F becomes T/K x K*F.

Why: a recurrent cell pays its recurrent product once per step, and gradients through hundreds
of steps vanish; long narrow series (one accelerometer axis, one ECG lead, a few hundred samples)
train poorly and cost many instructions per inference on a microcontroller. Stacking K samples
cuts the steps K times; the input product grows by K but the recurrent one (U x U per step) shrinks.

In row-major memory a [T, F] series and its [T/K, K*F] framing are the same bytes, so a device
feeds its sample buffer to the framed model unchanged. When K does not divide T the series is
padded at the start with padding steps (NaN, as ``data.npz`` pads variable-length rows: the last
step the cell reads stays real data), and ``frame_note`` says so. See docs/guides/long-series.md.
"""
from __future__ import annotations

import math

import numpy as np

from edgernn.errors import UserError

# "long, narrow": at least this many steps and at most this many features per step
LONG_MIN_STEPS = 96
NARROW_MAX_FEATURES = 3
# auto candidates: powers of two whose framed length lies in this range, nearest (in log) to the target
FRAMED_STEPS_RANGE = (12, 64)
FRAMED_STEPS_TARGET = 32
AUTO_CANDIDATES = 2
MAX_FRAME = 4096


def check_frame(k: int, steps: int) -> int:
    """``k`` if it can frame series of ``steps`` steps; else a UserError."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= MAX_FRAME:
        raise UserError(f"--frame must be an integer from 1 to {MAX_FRAME} or 'auto' (got {k!r})")
    if k > steps:
        raise UserError(f"--frame {k} is larger than the series' {steps} steps")
    return int(k)


def padding(steps: int, k: int) -> int:
    """Padding steps added at the start so that ``k`` divides the length."""
    return (-steps) % k


def framed_shape(steps: int, features: int, k: int) -> list[int]:
    return [(steps + padding(steps, k)) // k, features * k]


def frame_note(steps: int, k: int) -> str | None:
    """What the user should know about framing ``steps`` steps by ``k`` (None: nothing to say)."""
    pad = padding(steps, k)
    if not pad:
        return None
    return (f"--frame {k} does not divide the {steps} steps: each series is padded by {pad} padding "
            f"step(s) at its start ({steps + pad} steps, {(steps + pad) // k} frames)")


def stack_frames(X: np.ndarray, k: int) -> np.ndarray:
    """[N, T, F] -> [N, ceil(T/k), k*F]; padding steps (NaN) at the start when k does not divide T."""
    X = np.asarray(X, dtype=np.float32)
    n, steps, features = X.shape
    pad = padding(steps, k)
    if pad:
        X = np.concatenate([np.full((n, pad, features), np.nan, dtype=X.dtype), X], axis=1)
    return X.reshape(n, (steps + pad) // k, k * features)


def is_long_narrow(steps: int, features: int) -> bool:
    return steps >= LONG_MIN_STEPS and features <= NARROW_MAX_FEATURES


def auto_candidates(steps: int, features: int) -> list[int]:
    """Frame sizes ``--frame auto`` compares on validation: [1] unless the series are long and narrow,
    else up to AUTO_CANDIDATES powers of two leaving 12..64 steps, nearest to 32 first."""
    if not is_long_narrow(steps, features):
        return [1]
    lo, hi = FRAMED_STEPS_RANGE
    ks = [2 ** p for p in range(1, int(math.log2(steps)) + 1)
          if lo <= math.ceil(steps / 2 ** p) <= hi]
    ks.sort(key=lambda k: abs(math.log2(math.ceil(steps / k) / FRAMED_STEPS_TARGET)))
    return sorted(ks[:AUTO_CANDIDATES]) or [1]


def parse_frame(value) -> int | str:
    """CLI/API value -> 'auto' or an integer (range checked against the data later)."""
    if value is None or value == "auto":
        return "auto"
    try:
        k = int(value)
    except (TypeError, ValueError):
        raise UserError(f"--frame must be an integer or 'auto' (got {value!r})") from None
    if isinstance(value, float) and k != value:
        raise UserError(f"--frame must be an integer or 'auto' (got {value!r})")
    if not 1 <= k <= MAX_FRAME:
        raise UserError(f"--frame must be an integer from 1 to {MAX_FRAME} or 'auto' (got {value!r})")
    return k
