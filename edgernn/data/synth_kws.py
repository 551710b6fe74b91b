"""The built-in keyword-spotting dataset, synthesized offline with espeak-ng.

Writes the Speech Commands v2 layout, so one loader serves it and the real download:
  OUT/<word>/<speaker>_nohash_<k>.wav   1 s, 16 kHz, mono, 16-bit
  OUT/_background_noise_/*.wav          long noise recordings (here: generated)
  OUT/validation_list.txt, OUT/testing_list.txt   split by speaker, as Speech Commands does
A "speaker" is one espeak-ng accent + voice variant + base pitch + base speed; every clip
gets its own small pitch/speed jitter, a random position in the second, a random gain and
background noise at a random SNR. Everything derives from ``seed``: same seed, same bytes.
"""
from __future__ import annotations

import functools
import hashlib
import multiprocessing as mp
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgernn import io
from edgernn.data.wav import decode_wav_bytes, resample, write_wav
from edgernn.errors import UserError

CORE_WORDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
# The other Speech Commands v2 words: they make up the _unknown_ class.
OTHER_WORDS = ("bed", "bird", "cat", "dog", "eight", "five", "four", "happy", "house",
               "marvin", "nine", "one", "seven", "sheila", "six", "three", "tree", "two",
               "wow", "zero", "backward", "forward", "follow", "learn", "visual")
ACCENTS = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-rp",
           "en-gb-x-gbcwmd", "en-029", "en-us-nyc")
VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5",
            "croak", "klatt", "klatt2", "klatt3", "Andy", "Annie", "belinda", "david",
            "edward", "linda", "max", "paul", "quincy", "robert", "steph", "travis")
NOISE_KINDS = ("white", "pink", "brown", "hum", "tap", "babble")
RATE = 16000
NOISE_SECONDS = 30
VALIDATION_PERCENT, TESTING_PERCENT = 10, 10
MAX_PER_WORD = 100_000  # speakers; Speech Commands v2 has ~2,600


@dataclass(frozen=True)
class Clip:
    word: str
    speaker: str        # 8 hex chars
    take: int           # k in <speaker>_nohash_<k>.wav
    voice: str          # espeak-ng voice, e.g. en-us+m3
    speed: int          # words per minute
    pitch: int          # 0..99
    seed: int

    @property
    def relpath(self) -> str:
        return f"{self.word}/{self.speaker}_nohash_{self.take}.wav"


def espeak_binary() -> str:
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise UserError("espeak-ng is not installed (Debian: apt-get install espeak-ng)")
    return exe


@functools.cache
def installed_variants() -> frozenset[str]:
    """Voice variants this espeak-ng install has (their file names, as used after '+')."""
    out = subprocess.run([espeak_binary(), "--voices=variant"], capture_output=True, text=True, check=True)
    return frozenset(word.split("/")[-1] for line in out.stdout.splitlines() for word in line.split()
                     if word.startswith("!v/"))


def split_of(speaker: str) -> str:
    """Speech Commands' rule: a speaker's hash picks its split, so no voice crosses splits."""
    percent = int(hashlib.sha1(speaker.encode()).hexdigest(), 16) % 100
    if percent < VALIDATION_PERCENT:
        return "validation"
    if percent < VALIDATION_PERCENT + TESTING_PERCENT:
        return "testing"
    return "training"


def plan_clips(per_word: int, seed: int, unknown_total: int | None = None,
               words=CORE_WORDS, others=OTHER_WORDS) -> list[Clip]:
    """One speaker per core-word take; each speaker also says a few other (unknown) words."""
    rng = np.random.default_rng(seed)
    unknown_total = per_word * 2 if unknown_total is None else unknown_total
    clips: list[Clip] = []
    for s in range(per_word):
        accent = ACCENTS[rng.integers(len(ACCENTS))]
        variant = VARIANTS[rng.integers(len(VARIANTS))]
        speaker = hashlib.sha1(f"{seed}:{s}:{accent}:{variant}".encode()).hexdigest()[:8]
        base_speed, base_pitch = int(rng.integers(120, 221)), int(rng.integers(20, 81))
        n_other = unknown_total // per_word + (1 if s < unknown_total % per_word else 0)
        said = list(words) + [others[i] for i in rng.choice(len(others), n_other, replace=False)]
        for word in said:
            clips.append(Clip(word, speaker, 0, f"{accent}+{variant}",
                              base_speed + int(rng.integers(-15, 16)),
                              int(np.clip(base_pitch + rng.integers(-8, 9), 0, 99)),
                              int(rng.integers(2**31))))
    return clips


def synth_noise(kind: str, seconds: float, rng: np.random.Generator) -> np.ndarray:
    """Background textures, normalised to RMS 0.1."""
    n = int(seconds * RATE)
    white = rng.standard_normal(n).astype(np.float32)
    spectrum = np.fft.rfft(white)
    f = np.fft.rfftfreq(n, 1 / RATE)
    f[0] = f[1]
    if kind == "white":
        x = white
    elif kind == "pink":
        x = np.fft.irfft(spectrum / np.sqrt(f), n)
    elif kind == "brown":
        x = np.fft.irfft(spectrum / f, n)
    elif kind == "hum":  # mains hum with harmonics plus a little hiss
        t = np.arange(n) / RATE
        mains = rng.choice([50.0, 60.0])
        x = sum(np.sin(2 * np.pi * mains * h * t + rng.uniform(0, 6.3)) / h for h in range(1, 8))
        x = x + 0.05 * white
    elif kind == "tap":  # running water: band-limited noise with a slow flutter
        band = (f > 500) & (f < 3500)
        x = np.fft.irfft(spectrum * band, n)
        t = np.arange(n) / RATE
        x = x * (1 + 0.5 * np.sin(2 * np.pi * rng.uniform(2, 6) * t))
    elif kind == "babble":  # speech-band noise with syllable-rate (3-6 Hz) modulation
        band = (f > 200) & (f < 3000)
        x = np.fft.irfft(spectrum * band, n)
        env = np.abs(np.fft.irfft(np.fft.rfft(rng.standard_normal(n)) * (f < 5), n))
        x = x * env
    else:
        raise ValueError(kind)
    x = np.asarray(x, dtype=np.float32)
    return (x * (0.1 / (np.sqrt(np.mean(x ** 2)) + 1e-12))).astype(np.float32)


def speak(word: str, voice: str, speed: int, pitch: int) -> np.ndarray:
    """espeak-ng -> float32 at 16 kHz with leading/trailing silence trimmed."""
    if voice.split("+")[-1] not in installed_variants():
        voice = voice.split("+")[0]  # a variant missing on this install: the plain accent, every time
    cmd = [espeak_binary(), "--stdout", "-v", voice, "-s", str(speed), "-p", str(pitch), word]
    for _ in range(3):  # retry a transient failure rather than silently change the data
        out = subprocess.run(cmd, capture_output=True, check=False)
        if out.returncode == 0 and len(out.stdout) >= 100:
            break
    else:
        raise RuntimeError(f"espeak-ng failed on {cmd[1:]}: exit {out.returncode}, "
                           f"{out.stderr.decode(errors='replace').strip()[:200]}")
    x, sr = decode_wav_bytes(out.stdout)
    x = resample(x, sr, RATE)
    loud = np.flatnonzero(np.abs(x) > 0.02 * (np.abs(x).max() + 1e-9))
    return x[loud[0]:loud[-1] + 1] if loud.size else x


def render_clip(clip: Clip, noises: list[np.ndarray]) -> np.ndarray:
    """Place the spoken word at a random offset in 1 s, with gain and background noise."""
    rng = np.random.default_rng(clip.seed)
    speech = speak(clip.word, clip.voice, clip.speed, clip.pitch)[:RATE]
    speech = speech / (np.abs(speech).max() + 1e-9) * rng.uniform(0.3, 0.9)
    out = np.zeros(RATE, dtype=np.float32)
    start = int(rng.integers(0, RATE - len(speech) + 1))
    out[start:start + len(speech)] = speech
    if rng.random() < 0.85:
        noise = noises[rng.integers(len(noises))]
        at = int(rng.integers(0, len(noise) - RATE))
        seg = noise[at:at + RATE]
        snr_db = rng.uniform(5, 30)
        p_speech = np.mean(speech ** 2)
        seg = seg * np.sqrt(p_speech / (np.mean(seg ** 2) + 1e-12) / 10 ** (snr_db / 10))
        out = out + seg
    return np.clip(out, -1, 1)


_NOISES: list[np.ndarray] = []


def _init_worker(noises):
    _NOISES[:] = noises


def _render_to(args) -> str:
    clip, root = args
    write_wav(Path(root) / clip.relpath, render_clip(clip, _NOISES), RATE)
    return clip.relpath


def is_complete(out: Path) -> bool:
    return (out / "edgernn_dataset.json").is_file() and (out / "testing_list.txt").is_file()


def synth_kws(out: str | Path, seed: int = 0, per_word: int = 400, unknown_total: int | None = None,
              workers: int = 2, skip_existing: bool = False, overwrite: bool = False,
              progress: bool = True) -> Path:
    """Synthesize the 12-class keyword dataset into ``out``; returns its path."""
    out = Path(out)
    if not 1 <= per_word <= MAX_PER_WORD:
        raise UserError(f"--per-word must be between 1 and {MAX_PER_WORD} (got {per_word})")
    if unknown_total is not None and not 0 <= unknown_total <= MAX_PER_WORD * len(OTHER_WORDS):
        raise UserError(f"--unknown-total must be between 0 and {MAX_PER_WORD * len(OTHER_WORDS)} (got {unknown_total})")
    if not 1 <= workers <= 256:
        raise UserError(f"--workers must be between 1 and 256 (got {workers})")
    if skip_existing and is_complete(out):
        return out
    io.check_out(out, "folder", overwrite=overwrite)
    espeak_binary()
    clips = plan_clips(per_word, seed, unknown_total)
    rng = np.random.default_rng(seed)
    noises = {k: synth_noise(k, NOISE_SECONDS, rng) for k in NOISE_KINDS}
    with io.atomic_dir(out, overwrite=overwrite) as tmp:
        (tmp / "_background_noise_").mkdir()
        for kind, x in noises.items():
            write_wav(tmp / "_background_noise_" / f"{kind}_noise.wav", x, RATE)
        for word in sorted({c.word for c in clips}):
            (tmp / word).mkdir()
        _render_all(clips, tmp, list(noises.values()), workers, progress)
        _write_split_lists(tmp, clips)
        io.write_json(tmp / "edgernn_dataset.json", io.record(
            "data synth-kws", inputs={}, params={"seed": seed, "per_word": per_word,
                                                 "unknown_total": unknown_total or per_word * 2},
            outputs={"clips": len(clips), "words": sorted({c.word for c in clips}),
                     "noise": list(NOISE_KINDS), "sample_rate": RATE}))
    return out


def _render_all(clips, root: Path, noises, workers: int, progress: bool) -> None:
    from rich.progress import Progress

    jobs = [(c, str(root)) for c in clips]
    with Progress(disable=not progress, transient=True) as bar:
        task = bar.add_task("synthesizing clips", total=len(jobs))
        if workers <= 1:
            _init_worker(noises)
            for job in jobs:
                _render_to(job)
                bar.advance(task)
            return
        # fork is fastest, but not from a process already running TensorFlow's threads.
        ctx = mp.get_context("spawn" if "tensorflow" in sys.modules else "fork")
        with ctx.Pool(workers, initializer=_init_worker, initargs=(noises,)) as pool:
            for _ in pool.imap_unordered(_render_to, jobs, chunksize=16):
                bar.advance(task)


def _write_split_lists(root: Path, clips: list[Clip]) -> None:
    lists = {"validation": [], "testing": []}
    for c in sorted(clips, key=lambda c: c.relpath):
        split = split_of(c.speaker)
        if split in lists:
            lists[split].append(c.relpath)
    for name, rows in lists.items():
        io.atomic_write_text(root / f"{name}_list.txt", "".join(r + "\n" for r in rows))
