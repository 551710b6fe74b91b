"""Speech-embedding front end: a pretrained speech model turns audio into 96-value embeddings.

Two ONNX graphs run one after the other (onnxruntime, CPU, one thread):
- ``melspectrogram.onnx``: 16 kHz audio at int16 scale -> 32 log-mel bands every 10 ms (512-sample
  window); rescaled by x / 10 + 2, as openWakeWord feeds them to the next graph;
- ``embedding_model.onnx``: 76 mel frames (0.78 s) -> 96 values; one embedding every 8 mel frames (80 ms).
A 1 s clip is centred in 2 s of zeros and gives 16 embeddings: a [16, 96] feature window, on which
``train --features embedding`` trains a small GRU, LSTM, RNN or dense head. In a stream, embedding j
covers samples [1280 j, 1280 j + 12512): the streaming contract's frames with a 80 ms hop and a
782 ms window (``FeatureConfig`` for ``kind="embedding"``).

Licence basis: the backbone is Google's speech_embedding model (TF Hub, Apache-2.0) as re-implemented
in ONNX by openWakeWord, whose code is Apache-2.0. The two files are read, by member name, out of the
``openwakeword==0.4.0`` wheel pinned by sha256 in ``edgernn.wheels`` (fetched into the cache by
``make setup``); nothing of the package is imported or run. openWakeWord's own wake-word heads
(alexa, hey_jarvis, ...) are CC BY-NC-SA 4.0: edgernn never reads, ships or uses them.
"""
from __future__ import annotations

import numpy as np

from edgernn.errors import UserError

PACKAGE = "openwakeword"
MEL_MEMBER = "openwakeword/resources/models/melspectrogram.onnx"
EMBEDDING_MEMBER = "openwakeword/resources/models/embedding_model.onnx"
MAX_MODEL_BYTES = 4 * 1024 ** 2   # each is about 1.1-1.3 MB
SAMPLE_RATE = 16000
MEL_HOP = 160        # samples per mel frame step (10 ms)
MEL_WINDOW = 512     # samples per mel frame
MEL_BANDS = 32
EMBED_FRAMES = 76    # mel frames per embedding
EMBED_STEP = 8       # mel frames between embeddings (80 ms)
EMBED_DIM = 96
CLIP_PAD_S = 0.5     # a clip is centred in this much silence on each side
BATCH = 256          # embedding windows per onnxruntime call

_sessions: dict[str, object] = {}


def _session(member: str):
    if member not in _sessions:
        import onnxruntime as ort

        from edgernn.wheels import read_member

        data = read_member(PACKAGE, member, MAX_MODEL_BYTES)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        try:
            _sessions[member] = ort.InferenceSession(data, opts, providers=["CPUExecutionProvider"])
        except Exception as e:  # noqa: BLE001 - onnxruntime raises its own types
            raise UserError(f"{member}: onnxruntime cannot load it ({str(e).splitlines()[0][:120]})") from None
    return _sessions[member]


def mel_frames(x: np.ndarray) -> np.ndarray:
    """Audio [samples] float in [-1, 1] -> rescaled log-mel frames [frames, 32]; frames = 1 + (N - 512) // 160."""
    x = np.asarray(x, dtype=np.float32).reshape(-1)
    if len(x) < MEL_WINDOW:
        return np.zeros((0, MEL_BANDS), dtype=np.float32)
    n = 1 + (len(x) - MEL_WINDOW) // MEL_HOP
    out = np.zeros((n, MEL_BANDS), dtype=np.float32)
    chunk = 60 * SAMPLE_RATE // MEL_HOP  # a minute of frames per call
    sess = _session(MEL_MEMBER)
    for k0 in range(0, n, chunk):
        k1 = min(n, k0 + chunk)
        seg = x[k0 * MEL_HOP:(k1 - 1) * MEL_HOP + MEL_WINDOW] * np.float32(32767)
        y = np.asarray(sess.run(None, {"input": seg[None, :]})[0]).reshape(-1, MEL_BANDS)
        m = min(len(y), k1 - k0)
        out[k0:k0 + m] = y[:m] / 10 + 2
    return out


def embeddings(mel: np.ndarray) -> np.ndarray:
    """Mel frames [frames, 32] -> embeddings [n, 96], one every 8 frames (n = 1 + (frames - 76) // 8)."""
    if len(mel) < EMBED_FRAMES:
        return np.zeros((0, EMBED_DIM), dtype=np.float32)
    n = 1 + (len(mel) - EMBED_FRAMES) // EMBED_STEP
    idx = np.arange(n)[:, None] * EMBED_STEP + np.arange(EMBED_FRAMES)[None, :]
    sess = _session(EMBEDDING_MEMBER)
    out = np.zeros((n, EMBED_DIM), dtype=np.float32)
    for b0 in range(0, n, BATCH):
        w = mel[idx[b0:b0 + BATCH]][..., None].astype(np.float32)
        out[b0:b0 + len(w)] = np.asarray(sess.run(None, {"input_1": w})[0]).reshape(len(w), EMBED_DIM)
    return out


def stream_embeddings(x: np.ndarray) -> np.ndarray:
    """Every complete embedding of a long recording: [n, 96], embedding j over samples [1280 j, 1280 j + 12512)."""
    return embeddings(mel_frames(x))


def clip_embeddings(x: np.ndarray, clip_samples: int) -> np.ndarray:
    """One clip [samples] or a batch [N, samples] -> [16, 96] / [N, 16, 96] (clips padded or cut to
    ``clip_samples``, then centred in CLIP_PAD_S of zeros each side)."""
    x = np.asarray(x, dtype=np.float32)
    single = x.ndim == 1
    batch = x[None] if single else x
    pad = int(CLIP_PAD_S * SAMPLE_RATE)
    n = num_embeddings(clip_samples)
    need = EMBED_FRAMES + (n - 1) * EMBED_STEP
    idx = (np.arange(n)[:, None] * EMBED_STEP + np.arange(EMBED_FRAMES)[None, :]).reshape(-1)
    out = np.zeros((len(batch), n, EMBED_DIM), dtype=np.float32)
    mel_sess, emb_sess = _session(MEL_MEMBER), _session(EMBEDDING_MEMBER)
    step = max(1, BATCH // n)
    for b0 in range(0, len(batch), step):
        b = batch[b0:b0 + step, :clip_samples]
        padded = np.zeros((len(b), clip_samples + 2 * pad), dtype=np.float32)
        padded[:, pad:pad + b.shape[1]] = b
        mel = np.asarray(mel_sess.run(None, {"input": padded * np.float32(32767)})[0])
        mel = mel.reshape(len(b), -1, MEL_BANDS)[:, :need] / 10 + 2
        w = mel[:, idx].reshape(len(b) * n, EMBED_FRAMES, MEL_BANDS, 1).astype(np.float32)
        out[b0:b0 + len(b)] = np.asarray(emb_sess.run(None, {"input_1": w})[0]).reshape(len(b), n, EMBED_DIM)
    return out[0] if single else out


def num_embeddings(clip_samples: int) -> int:
    """Embeddings of one padded clip: 16 for 1 s."""
    total = clip_samples + 2 * int(CLIP_PAD_S * SAMPLE_RATE)
    frames = 1 + (total - MEL_WINDOW) // MEL_HOP
    return 1 + (frames - EMBED_FRAMES) // EMBED_STEP
