"""Make a keyword stream WAV: test-split clips of a Speech Commands folder laid end to end over its
background noise (used by tools/bench_kws_device.py and docs/getting-started/to-a-board.md).

    python tools/kws_stream_wav.py data/kws stream30.wav --seconds 30 --seed 0
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


def make_stream(data: Path, seconds: float = 30.0, seed: int = 0, rate: int = 16000) -> np.ndarray:
    """int16 mono audio: one test clip (a keyword 3 times in 4, else an unknown word) about every 1.5 s.
    The keywords are the ones the dataset was made with (its own vocabulary too), else the ten core words."""
    import soundfile as sf

    from edgernn.data.speech_commands import default_keywords

    rng = np.random.default_rng(seed)
    test = [line.strip() for line in (data / "testing_list.txt").read_text().splitlines() if line.strip()]
    words = set(default_keywords(data))
    keywords = [t for t in test if t.split("/")[0] in words]
    if not keywords:
        raise SystemExit(f"{data}: no clip of {', '.join(sorted(words))} in the test split to make a stream of")
    unknown = [t for t in test if t.split("/")[0] not in words] or keywords
    n = int(seconds * rate)
    noises = sorted((data / "_background_noise_").glob("*.wav"))
    noise, _ = sf.read(noises[rng.integers(len(noises))], dtype="float32", always_2d=True) if noises else (
        np.zeros((n, 1), np.float32), rate)
    out = np.resize(noise[:, 0], n) * 0.05
    at = int(0.5 * rate)
    while at + rate <= n:
        pool = keywords if rng.random() < 0.75 else unknown
        rel = pool[rng.integers(len(pool))]
        clip, _ = sf.read(data / rel, dtype="float32", always_2d=True)
        clip = clip[:rate, 0]
        out[at:at + len(clip)] += clip
        at += int(rate * rng.uniform(1.3, 1.8))
    return np.clip(np.round(out * 32767), -32768, 32767).astype(np.int16)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    import soundfile as sf

    sf.write(str(a.out), make_stream(a.data, a.seconds, a.seed), 16000, subtype="PCM_16")
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
