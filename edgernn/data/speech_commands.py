"""Loader for the Speech Commands layout (real v2 download or ``edgernn data synth-kws``).

The standard 12-class task: ``_silence_``, ``_unknown_`` and the ten core words.
- Splits come from ``validation_list.txt`` and ``testing_list.txt``; every other clip trains.
- Words outside the core ten form ``_unknown_``, subsampled (seeded) to about one class's size.
- ``_silence_`` clips are 1 s cuts of ``_background_noise_`` at random gains, about one
  class's size per split (Speech Commands ships no silence clips of its own).
Features are computed once and cached in ``<folder>/.edgernn_cache/``.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from edgernn import io
from edgernn.data.dataset import Dataset, Split
from edgernn.data.synth_kws import CORE_WORDS
from edgernn.data.wav import read_wav
from edgernn.errors import UserError
from edgernn.features.frontend import FeatureConfig, features

CLASS_NAMES = ["_silence_", "_unknown_", *CORE_WORDS]
SPLIT_FILES = {"val": "validation_list.txt", "test": "testing_list.txt"}
CACHE_DIR = ".edgernn_cache"
LOADER_VERSION = 1  # bump when the clip selection or labelling changes


def list_clips(root: Path, test_only: bool = False) -> dict[str, list[str]]:
    """Relative paths of every word clip, keyed by split.

    ``test_only`` (for ``eval``): word folders may be missing, and without ``testing_list.txt``
    every clip is a test clip.
    """
    if not root.is_dir():
        raise UserError(f"{root}: no such folder")
    words = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))
    missing = [w for w in CORE_WORDS if w not in words]
    if len(missing) == len(CORE_WORDS):
        raise UserError(f"{root}: not a Speech Commands folder (none of the word folders "
                        f"{', '.join(CORE_WORDS)} found)")
    if missing and not test_only:
        raise UserError(f"{root}: missing word folder(s): {', '.join(missing)}")
    if test_only:
        tests = root / SPLIT_FILES["test"]
        listed = {"val": set(), "test": set(_read_list(tests)) if tests.is_file() else None}
    else:
        listed = {split: set(_read_list(root / name)) for split, name in SPLIT_FILES.items()}
    clips: dict[str, list[str]] = {"train": [], "val": [], "test": []}
    for word in words:
        wavs = sorted(f"{word}/{p.name}" for p in (root / word).glob("*.wav"))
        if not wavs and word in CORE_WORDS:
            raise UserError(f"{root / word}: class folder has no .wav files")
        for rel in wavs:
            if listed["test"] is None:
                split = "test"
            else:
                split = "val" if rel in listed["val"] else "test" if rel in listed["test"] else "train"
            clips[split].append(rel)
    return clips


def _read_list(path: Path) -> list[str]:
    if not path.is_file():
        raise UserError(f"{path}: missing (a Speech Commands folder lists its splits there)")
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


def select_clips(clips: dict[str, list[str]], seed: int, unknown_fraction: float
                 ) -> dict[str, list[tuple[str, int]]]:
    """(relative path, class index) per split; unknown words subsampled."""
    rng = np.random.default_rng(seed)
    chosen = {}
    for split, rels in clips.items():
        known = [(r, CLASS_NAMES.index(r.split("/")[0])) for r in rels if r.split("/")[0] in CORE_WORDS]
        unknown = [r for r in rels if r.split("/")[0] not in CORE_WORDS]
        per_class = max(1, len(known) // len(CORE_WORDS))
        n_unknown = min(len(unknown), int(round(per_class * unknown_fraction)))
        picked = [unknown[i] for i in sorted(rng.choice(len(unknown), n_unknown, replace=False))]
        chosen[split] = known + [(r, 1) for r in picked]
    return chosen


def silence_clips(root: Path, counts: dict[str, int], seed: int, rate: int) -> dict[str, np.ndarray]:
    """1 s background-noise cuts at random gain (some near silent), per split."""
    noise_dir = root / "_background_noise_"
    files = sorted(noise_dir.glob("*.wav")) if noise_dir.is_dir() else []
    if not files:
        raise UserError(f"{noise_dir}: no background noise WAVs (needed for the _silence_ class)")
    noises = [read_wav(f, rate) for f in files]
    noises = [n for n in noises if len(n) > rate]
    if not noises:
        raise UserError(f"{noise_dir}: background noise files are shorter than 1 s")
    out = {}
    for i, (split, n) in enumerate(sorted(counts.items())):
        rng = np.random.default_rng([seed, i, 7])
        cuts = np.zeros((n, rate), dtype=np.float32)
        for k in range(n):
            src = noises[rng.integers(len(noises))]
            at = rng.integers(0, len(src) - rate)
            cuts[k] = src[at:at + rate] * (10 ** rng.uniform(-3, 0))
        out[split] = cuts
    return out


def _cache_key(root: Path, clips, cfg: FeatureConfig, seed, silence_fraction, unknown_fraction) -> str:
    h = hashlib.sha256()
    h.update(json.dumps([LOADER_VERSION, cfg.to_dict(), seed, silence_fraction, unknown_fraction],
                        sort_keys=True).encode())
    for split in sorted(clips):
        for rel, label in clips[split]:
            st = (root / rel).stat()
            h.update(f"{split}|{rel}|{label}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    for f in sorted((root / "_background_noise_").glob("*.wav")):
        h.update(f"{f.name}|{f.stat().st_size}|{f.stat().st_mtime_ns}\n".encode())
    return h.hexdigest()[:20]


def _extract(root: Path, chosen, silence, cfg: FeatureConfig, progress: bool):
    from rich.progress import Progress

    total = sum(len(v) for v in chosen.values())
    out = {}
    with Progress(disable=not progress, transient=True) as bar:
        task = bar.add_task("computing features", total=total)
        for split, items in chosen.items():
            waves = np.zeros((len(items), cfg.clip_samples), dtype=np.float32)
            for i, (rel, _) in enumerate(items):
                x = read_wav(root / rel, cfg.sample_rate)[:cfg.clip_samples]
                waves[i, :len(x)] = x
                bar.advance(task)
            labels = [label for _, label in items] + [0] * len(silence[split])
            X = np.concatenate([features(waves, cfg), features(silence[split], cfg)]).astype(np.float32)
            out[split] = Split(X, np.asarray(labels, dtype=np.int64))
    return out


def load_speech_commands(path: str | Path, features: FeatureConfig | dict | None = None, seed: int = 0,
                         silence_fraction: float = 1.0, unknown_fraction: float = 1.0,
                         progress: bool = True, test_only: bool = False) -> Dataset:
    """Load a Speech Commands-layout folder as the 12-class KWS task (features cached).

    ``test_only`` (for ``eval``): only the test clips are read, all of them (no subsampling); absent words and a missing
    ``_background_noise_`` (no ``_silence_`` clips) are allowed.
    """
    root = Path(path)
    cfg = FeatureConfig(**features) if isinstance(features, dict) else features or FeatureConfig()
    if test_only:
        return _load_test_only(root, cfg, seed, silence_fraction, unknown_fraction, progress)
    chosen = select_clips(list_clips(root), seed, unknown_fraction)
    for split in ("train", "test"):
        if not chosen[split]:
            raise UserError(f"{root}: the {split} split is empty (check validation_list.txt / testing_list.txt)")
    key = _cache_key(root, chosen, cfg, seed, silence_fraction, unknown_fraction)
    cache = root / CACHE_DIR / f"features-{key}.npz"
    meta = {"features": cfg.to_dict(), "sample_rate": cfg.sample_rate, "cache": str(cache)}
    if cache.is_file():
        with np.load(cache) as z:
            splits = {s: Split(z[f"{s}_X"], z[f"{s}_y"]) for s in ("train", "val", "test")}
        return Dataset("kws", splits, list(CLASS_NAMES), str(root), meta)
    counts = {s: int(round(len(v) / (len(CLASS_NAMES) - 1) * silence_fraction)) for s, v in chosen.items()}
    silence = silence_clips(root, counts, seed, cfg.sample_rate)
    splits = _extract(root, chosen, silence, cfg, progress)
    _save_cache(cache, splits)
    return Dataset("kws", splits, list(CLASS_NAMES), str(root), meta)


def _load_test_only(root: Path, cfg: FeatureConfig, seed: int, silence_fraction: float, unknown_fraction: float,
                    progress: bool) -> Dataset:
    clips = list_clips(root, test_only=True)
    # every clip counts: a user's test folder is not rebalanced (no _unknown_ subsampling)
    chosen = {"test": [(r, CLASS_NAMES.index(r.split("/")[0]) if r.split("/")[0] in CORE_WORDS else 1)
                       for r in clips["test"]]}
    if not chosen["test"]:
        raise UserError(f"{root}: no test clips (none listed in testing_list.txt)")
    has_noise = any((root / "_background_noise_").glob("*.wav"))
    n_silence = int(round(len(chosen["test"]) / (len(CLASS_NAMES) - 1) * silence_fraction)) if has_noise else 0
    silence = silence_clips(root, {"test": n_silence}, seed, cfg.sample_rate) if n_silence else \
        {"test": np.zeros((0, cfg.clip_samples), dtype=np.float32)}
    test = _extract(root, chosen, silence, cfg, progress)["test"]
    empty = Split(test.X[:0], test.y[:0])
    meta = {"features": cfg.to_dict(), "sample_rate": cfg.sample_rate, "test_only": True}
    return Dataset("kws", {"train": empty, "val": empty, "test": test}, list(CLASS_NAMES), str(root), meta)


def _save_cache(cache: Path, splits: dict[str, Split]) -> None:
    import io as _io

    buf = _io.BytesIO()
    np.savez(buf, **{f"{s}_X": v.X for s, v in splits.items()}, **{f"{s}_y": v.y for s, v in splits.items()})
    try:
        io.atomic_write_bytes(cache, buf.getvalue())
    except OSError:
        pass  # a read-only dataset folder just means no cache
