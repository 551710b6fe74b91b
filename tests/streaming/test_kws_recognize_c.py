"""firmware/app/kws_recognize.c is the exact mirror of edgernn/streaming/recognize.py."""
from __future__ import annotations

import ctypes
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from edgernn.streaming.recognize import RecognizeConfig, detect

APP = Path(__file__).resolve().parents[2] / "firmware" / "app"
pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")


@pytest.fixture(scope="module")
def lib(tmp_path_factory):
    out = tmp_path_factory.mktemp("rec") / "rec.so"
    subprocess.run(["gcc", "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC", "-I", str(APP),
                    str(APP / "kws_recognize.c"), "-o", str(out)], check=True)
    return ctypes.CDLL(str(out))


def c_detect(lib, times, scores, num_classes, ignore, cfg: RecognizeConfig):
    state = ctypes.create_string_buffer(1 << 15)
    flags = (ctypes.c_uint8 * num_classes)(*[int(c in ignore) for c in range(num_classes)])
    assert lib.ern_recognizer_init(state, num_classes, flags, cfg.window_ms, cfg.threshold, cfg.suppression_ms,
                                   cfg.min_count) == 0
    label, score, out = ctypes.c_int(), ctypes.c_int(), []
    for t, s in zip(times, scores):
        row = (ctypes.c_uint8 * num_classes)(*s)
        if lib.ern_recognizer_update(state, ctypes.c_uint32(t), row, ctypes.byref(label), ctypes.byref(score)):
            out.append((t, label.value, score.value))
    return out


def _stream(rng, n, num_classes, step_choices):
    times = np.cumsum(rng.choice(step_choices, n)).tolist()
    scores = []
    hot = 0
    for _ in range(n):  # keywords come in bursts, so detections and suppression both happen
        if rng.random() < 0.08:
            hot = int(rng.integers(num_classes))
        s = rng.integers(0, 60, num_classes)
        s[hot] = rng.integers(120, 256)
        scores.append([int(v) for v in s])
    return times, scores


@pytest.mark.parametrize("seed", range(12))
def test_c_mirror_gives_the_same_detections(lib, seed):
    rng = np.random.default_rng(seed)
    num_classes = int(rng.integers(2, 14))
    cfg = RecognizeConfig(window_ms=int(rng.choice([0, 200, 500, 1000, 5000])), threshold=int(rng.integers(100, 230)),
                          suppression_ms=int(rng.choice([0, 300, 1500])), min_count=int(rng.choice([1, 3, 64])))
    ignore = {0, 1} if num_classes > 2 else {0}
    times, scores = _stream(rng, 600, num_classes, [0, 20, 100, 200])  # 0: repeated time stamps
    want = [(d.time_ms, d.label, d.score) for d in detect(times, scores, num_classes, ignore, cfg)]
    got = c_detect(lib, times, scores, num_classes, ignore, cfg)
    assert got == want
    if seed == 0:
        assert len(want) > 3  # the stream exercises firing, not only silence


def test_history_bound_of_64_results(lib):
    """More results inside the window than MAX_RESULTS: both keep the newest 64."""
    cfg = RecognizeConfig(window_ms=60000, threshold=130, suppression_ms=0, min_count=64)
    times = list(range(200))
    scores = [[0, 255 if t < 100 else 0, 0 if t < 100 else 255] for t in times]
    want = [(d.time_ms, d.label, d.score) for d in detect(times, scores, 3, {0}, cfg)]
    assert want and c_detect(lib, times, scores, 3, {0}, cfg) == want


def test_bad_parameters_are_refused(lib):
    state = ctypes.create_string_buffer(1 << 15)
    flags = (ctypes.c_uint8 * 4)()
    assert lib.ern_recognizer_init(state, 0, flags, 1000, 200, 1500, 3) == -1
    assert lib.ern_recognizer_init(state, 4, flags, 1000, 256, 1500, 3) == -1
    assert lib.ern_recognizer_init(state, 4, flags, 1000, 200, 1500, 65) == -1
