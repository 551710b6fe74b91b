"""Offline text-to-speech engines (Debian packages) behind one small interface.

Engines: espeak-ng (accents x voice variants), flite (its built-in voices) and festival (an HTS
voice and diphone voices). ``say(voice, texts)`` returns, per text, the waveform at 16 kHz and
the time span of every word, so a word said inside a carrier phrase ("please say yes now") can
be cut out with its running-speech prosody and coarticulation:
- festival reports word start/end times itself (the utterance's Word relation);
- flite prints phone end times (``-psdur``); a word's phones are found by counting the phones of
  each word said alone (the lexicon is deterministic);
- espeak-ng reports no timing from its command line, so its words are only said in isolation.
One festival process serves a whole list of texts (its start-up dominates the cost).
"""
from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgernn.data.wav import decode_wav_bytes, resample
from edgernn.errors import UserError

RATE = 16000
ENGINES = ("espeak", "flite", "festival")
FLITE_VOICES = ("kal", "kal16", "awb", "rms", "slt")
# festival voice -> Debian package providing it
FESTIVAL_VOICES = {"cmu_us_slt_arctic_hts": "festvox-us-slt-hts", "kal_diphone": "festvox-kallpc16k",
                   "ked_diphone": "festvox-kdlpc16k"}
ENGINE_BINARIES = {"espeak": "espeak-ng", "flite": "flite", "festival": "festival"}
ENGINE_PACKAGES = {"espeak": "espeak-ng", "flite": "flite",
                   "festival": "festival " + " ".join(FESTIVAL_VOICES.values())}
# A word spoken shorter than this is not a word (the engine spelled nothing or a click).
MIN_WORD_SECONDS = 0.05


@dataclass(frozen=True)
class Voice:
    engine: str       # one of ENGINES
    name: str         # espeak "en-us+m3", flite "slt", festival "kal_diphone"
    stretch: float    # duration factor (1.0 = the engine's own rate)
    pitch: int        # espeak: 0..99; flite: f0 mean in Hz (0 = voice default); festival: unused


@dataclass
class Spoken:
    wave: np.ndarray                      # float32 at RATE
    words: list[tuple[str, int, int]]     # (word, start sample, end sample)


def binary(engine: str) -> str:
    exe = shutil.which(ENGINE_BINARIES[engine])
    if exe is None:
        raise UserError(f"{ENGINE_BINARIES[engine]} is not installed "
                        f"(Debian: apt-get install {ENGINE_PACKAGES[engine]})")
    return exe


@functools.cache
def espeak_variants() -> frozenset[str]:
    """Voice variants this espeak-ng install has (their file names, as used after '+')."""
    out = subprocess.run([binary("espeak"), "--voices=variant"], capture_output=True, text=True, check=True)
    return frozenset(word.split("/")[-1] for line in out.stdout.splitlines() for word in line.split()
                     if word.startswith("!v/"))


@functools.cache
def festival_voices() -> tuple[str, ...]:
    """The festival voices from FESTIVAL_VOICES that this machine has."""
    if shutil.which("festival") is None:
        return ()
    roots = [Path("/usr/share/festival/voices")]
    found = {p.name for r in roots if r.is_dir() for lang in r.iterdir() if lang.is_dir() for p in lang.iterdir()}
    return tuple(v for v in FESTIVAL_VOICES if v in found)


def available_engines() -> tuple[str, ...]:
    have = []
    for e in ENGINES:
        if shutil.which(ENGINE_BINARIES[e]) is None:
            continue
        if e == "festival" and not festival_voices():
            continue
        have.append(e)
    return tuple(have)


def _trim(x: np.ndarray, rel: float = 0.02) -> tuple[int, int]:
    loud = np.flatnonzero(np.abs(x) > rel * (np.abs(x).max() + 1e-9))
    return (int(loud[0]), int(loud[-1]) + 1) if loud.size else (0, 0)


def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    for _ in range(3):  # retry a transient failure rather than silently change the data
        out = subprocess.run(cmd, capture_output=True, check=False, **kw)
        if out.returncode == 0:
            return out
    raise RuntimeError(f"{cmd[0]} failed: exit {out.returncode}, {out.stderr.decode(errors='replace').strip()[:200]}")


def _espeak(voice: Voice, text: str) -> Spoken:
    name = voice.name
    if name.split("+")[-1] not in espeak_variants():
        name = name.split("+")[0]  # a variant missing on this install: the plain accent, every time
    speed = int(round(175 / voice.stretch))
    out = _run([binary("espeak"), "--stdout", "-v", name, "-s", str(speed), "-p", str(voice.pitch), text])
    x, sr = decode_wav_bytes(out.stdout) if len(out.stdout) >= 100 else (np.zeros(0, np.float32), RATE)
    x = resample(x, sr, RATE)
    a, b = _trim(x)
    words = text.split()
    return Spoken(x, [(words[0], a, b)] if len(words) == 1 and b - a > 0 else [])


def _flite_raw(voice: Voice, text: str, wav: str) -> tuple[np.ndarray, list[tuple[str, float]]]:
    cmd = [binary("flite"), "-voice", voice.name, "--setf", f"duration_stretch={voice.stretch:.3f}"]
    if voice.pitch:
        cmd += ["--setf", f"int_f0_target_mean={voice.pitch}"]
    out = _run(cmd + ["-psdur", "-t", text, "-o", wav])
    segs = [(p.rsplit(":", 1)[0], float(p.rsplit(":", 1)[1])) for p in out.stdout.decode().split() if ":" in p]
    import soundfile as sf

    x, sr = sf.read(wav, dtype="float32", always_2d=True)
    return resample(x.mean(axis=1), int(sr), RATE), segs


@functools.lru_cache(maxsize=4096)
def _flite_phone_count(voice_name: str, word: str) -> int:
    with tempfile.TemporaryDirectory() as d:
        _, segs = _flite_raw(Voice("flite", voice_name, 1.0, 0), word, os.path.join(d, "w.wav"))
    return sum(1 for p, _ in segs if p != "pau")


def _flite(voice: Voice, text: str) -> Spoken:
    with tempfile.TemporaryDirectory() as d:
        x, segs = _flite_raw(voice, text, os.path.join(d, "t.wav"))
    phones = [(p, t) for p, t in segs]
    # end time of each phone; a phone starts where the previous one ended
    starts = [0.0] + [t for _, t in phones[:-1]]
    spans, i = [], 0
    while i < len(phones) and phones[i][0] == "pau":
        i += 1
    for word in text.split():
        n = _flite_phone_count(voice.name, word)
        if n == 0 or i + n > len(phones):
            return Spoken(x, [])  # phones do not line up with the words: no cut-outs from this text
        spans.append((word, int(starts[i] * RATE), int(phones[i + n - 1][1] * RATE)))
        i += n
        while i < len(phones) and phones[i][0] == "pau":
            i += 1
    return Spoken(x, spans)


_SCHEME_SAFE = re.compile(r"^[a-z' ]+$")


def _festival(voice: Voice, texts: list[str]) -> list[Spoken]:
    """One festival process says every text; word times come from the Word relation."""
    for t in texts:
        if not _SCHEME_SAFE.match(t):  # texts go into a Scheme string: letters, apostrophe, space only
            raise UserError(f"festival cannot say {t!r}: use lower-case letters a-z only")
    with tempfile.TemporaryDirectory() as d:
        lines = [f"(voice_{voice.name})", f"(Parameter.set 'Duration_Stretch {voice.stretch:.3f})",
                 "(define (say text file) (let ((utt (SynthText text))) (utt.wave.resample utt 16000) "
                 "(utt.save.wave utt file 'riff) (mapcar (lambda (w) (format t \"W %s %s %f %f\\n\" file "
                 "(item.name w) (item.feat w \"word_start\") (item.feat w \"word_end\"))) "
                 "(utt.relation.items utt 'Word)) t))"]
        for k, t in enumerate(texts):
            lines.append(f'(say "{t}" "{d}/{k}.wav")')
        script = Path(d) / "say.scm"
        script.write_text("\n".join(lines) + "\n")
        out = _run([binary("festival"), "-b", str(script)])
        times: dict[str, list[tuple[str, int, int]]] = {}
        for line in out.stdout.decode(errors="replace").splitlines():
            parts = line.split()
            if len(parts) == 5 and parts[0] == "W":
                times.setdefault(parts[1], []).append((parts[2], int(float(parts[3]) * RATE),
                                                       int(float(parts[4]) * RATE)))
        import soundfile as sf

        result = []
        for k, t in enumerate(texts):
            f = f"{d}/{k}.wav"
            if not os.path.exists(f):
                result.append(Spoken(np.zeros(0, np.float32), []))
                continue
            x, sr = sf.read(f, dtype="float32", always_2d=True)
            words = times.get(f, [])
            if [w for w, _, _ in words] != t.split():
                words = []  # festival expanded or merged words: no reliable cut-outs from this text
            result.append(Spoken(resample(x.mean(axis=1), int(sr), RATE), words))
    return result


def say(voice: Voice, texts: list[str]) -> list[Spoken]:
    """Speak every text with ``voice``; waveforms at 16 kHz with word spans where known."""
    if voice.engine == "festival":
        return _festival(voice, texts)
    if voice.engine == "flite":
        return [_flite(voice, t) for t in texts]
    if voice.engine == "espeak":
        return [_espeak(voice, t) for t in texts]
    raise ValueError(voice.engine)


def cut_word(spoken: Spoken, index: int, margin_s: float = 0.02) -> np.ndarray:
    """The ``index``-th word of a spoken text with a small margin, trimmed of silence."""
    if index >= len(spoken.words):
        return np.zeros(0, np.float32)
    _, a, b = spoken.words[index]
    m = int(margin_s * RATE)
    x = spoken.wave[max(0, a - m):min(len(spoken.wave), b + m)]
    if len(x) == 0:
        return x
    s, e = _trim(x)
    return x[s:e] if e - s >= MIN_WORD_SECONDS * RATE else np.zeros(0, np.float32)
