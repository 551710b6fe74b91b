"""The dataset type every loader returns and every later stage consumes."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

TASKS = ("kws", "classify", "anomaly")
SPLITS = ("train", "val", "test")


@dataclass
class Split:
    X: np.ndarray  # float32 [N, T, F]: T time steps of F features
    y: np.ndarray  # int64 [N]: class index (anomaly: 0 normal, 1 anomalous)
    # anomaly test split of one series only: per-sample labels, window start rows (relative to
    # row0, the split's first row in the source series), for mapping scores back onto the series
    series_labels: np.ndarray | None = None
    starts: np.ndarray | None = None
    row0: int = 0

    def __len__(self) -> int:
        return int(self.X.shape[0])


@dataclass
class Dataset:
    task: str                     # one of TASKS
    splits: dict[str, Split]      # keys from SPLITS
    class_names: list[str]        # anomaly: ["normal", "anomaly"]
    source: str                   # where it was loaded from
    meta: dict = field(default_factory=dict)  # feature config, sample rate, channels, ...

    @property
    def input_shape(self) -> tuple[int, int]:
        X = self.splits["train"].X
        return int(X.shape[1]), int(X.shape[2])

    @property
    def num_classes(self) -> int:
        return len(self.class_names)
