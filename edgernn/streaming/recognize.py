"""Posterior smoothing and suppression for streaming keyword spotting, in integer arithmetic.

The logic follows TensorFlow Lite Micro's micro_speech ``RecognizeCommands`` (average the class
scores over a time window, require a minimum number of results, fire when the averaged top score
reaches a threshold, then suppress), written with integers only so that the firmware's C mirror
(``firmware/features`` / the kws app) computes exactly the same detections. Any change here must be
made there too; the tests compare the two on the same score streams.

Scores are uint8 0..255 per class: an int8 softmax output with zero point -128 (scale 1/256) gives
``q + 128``; a float probability p gives ``score_from_probability(p)``.

Rules, evaluated once per model result (time_ms must not decrease):
1. Append (time_ms, scores) to the history; drop entries with ``time_ms - t >= window_ms``
   (and the oldest ones beyond ``MAX_RESULTS``).
2. With fewer than ``min_count`` entries, nothing fires.
3. Average each class with integer floor division: ``sum // count``.
4. The top class is the highest average, the lowest index on ties.
5. It fires when the top class is a keyword (not in ``ignore``), its average is >= ``threshold``,
   and either nothing has fired yet or ``time_ms - last_fire_ms >= suppression_ms``. Suppression
   applies across all keywords (one spoken word must not fire twice as two different keywords).
"""
from __future__ import annotations

from collections import deque
from dataclasses import asdict, dataclass
from typing import Iterable, Sequence

MAX_RESULTS = 64  # bounded history (the C mirror uses a static array of this size)


@dataclass(frozen=True)
class RecognizeConfig:
    """Smoothing parameters (micro_speech defaults: 1000 ms, 200/255, 1500 ms, 3 results)."""

    window_ms: int = 1000
    threshold: int = 200
    suppression_ms: int = 1500
    min_count: int = 3

    def __post_init__(self):
        for name in ("window_ms", "suppression_ms"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= 60_000:
                raise ValueError(f"{name} must be an integer from 0 to 60000 ms, got {v!r}")
        if not isinstance(self.threshold, int) or not 0 <= self.threshold <= 255:
            raise ValueError(f"threshold must be an integer from 0 to 255, got {self.threshold!r}")
        if not isinstance(self.min_count, int) or not 1 <= self.min_count <= MAX_RESULTS:
            raise ValueError(f"min_count must be an integer from 1 to {MAX_RESULTS}, got {self.min_count!r}")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Detection:
    time_ms: int
    label: int
    score: int  # averaged score 0..255


def score_from_int8(q: Sequence[int]) -> list[int]:
    """int8 softmax output (scale 1/256, zero point -128) -> scores 0..255."""
    return [int(v) + 128 for v in q]


def score_from_probability(p: Sequence[float]) -> list[int]:
    """Float probabilities -> scores 0..255 (round half up, clamped), as the C mirror does."""
    return [min(255, max(0, int(float(v) * 255.0 + 0.5))) for v in p]


class RecognizeCommands:
    """Feed one result at a time with :meth:`update`; it returns a Detection or None."""

    def __init__(self, num_classes: int, ignore: Iterable[int] = (), config: RecognizeConfig = RecognizeConfig()):
        if not 1 <= num_classes <= 255:
            raise ValueError(f"num_classes must be 1..255, got {num_classes}")
        self.num_classes = num_classes
        self.ignore = frozenset(int(i) for i in ignore)
        self.config = config
        self._history: deque[tuple[int, list[int]]] = deque()
        self._last_fire_ms: int | None = None
        self._last_time_ms: int | None = None

    def update(self, time_ms: int, scores: Sequence[int]) -> Detection | None:
        cfg = self.config
        if len(scores) != self.num_classes:
            raise ValueError(f"expected {self.num_classes} scores, got {len(scores)}")
        if self._last_time_ms is not None and time_ms < self._last_time_ms:
            raise ValueError(f"time went backwards: {time_ms} ms after {self._last_time_ms} ms")
        self._last_time_ms = time_ms
        self._history.append((int(time_ms), [int(s) for s in scores]))
        while self._history and (time_ms - self._history[0][0] >= cfg.window_ms or len(self._history) > MAX_RESULTS):
            self._history.popleft()
        count = len(self._history)
        if count < cfg.min_count:
            return None
        sums = [0] * self.num_classes
        for _, s in self._history:
            for c in range(self.num_classes):
                sums[c] += s[c]
        avg = [v // count for v in sums]
        top = max(range(self.num_classes), key=lambda c: (avg[c], -c))
        if top in self.ignore or avg[top] < cfg.threshold:
            return None
        if self._last_fire_ms is not None and time_ms - self._last_fire_ms < cfg.suppression_ms:
            return None
        self._last_fire_ms = time_ms
        return Detection(time_ms=int(time_ms), label=top, score=avg[top])


def detect(times_ms: Sequence[int], scores: Sequence[Sequence[int]], num_classes: int,
           ignore: Iterable[int] = (), config: RecognizeConfig = RecognizeConfig()) -> list[Detection]:
    """Run the recognizer over a whole stream of (time, scores) results."""
    rc = RecognizeCommands(num_classes, ignore, config)
    out = []
    for t, s in zip(times_ms, scores):
        d = rc.update(int(t), s)
        if d is not None:
            out.append(d)
    return out
