"""Why does the vanilla RNN learn nothing on the keyword data? (issue 29: "a good RNN-64").

    python tools/probe_vanilla_rnn.py data/kws120 [--epochs 8] [--cache NPZ] [--variants rnn,rnn-backwards,rnn-middle,gru]

Trains plain tf_keras models on a data folder's cached keyword features (the cache `edgernn train
--task kws` writes; run one training first), with none of edgernn's training code: the same
inputs standardized per feature, Adam 3e-3 with clipnorm 1, batch 64, no augmentation, seed 0.
Validation accuracy only; the test split is never read. The variants separate the cell from our
pipeline and test the "forgets fastest" explanation:

    rnn             SimpleRNN(64) over the 49 frames, final state -> Dense softmax (edgernn's RNN-64)
    rnn-backwards   the same, reading the frames last to first
    rnn-middle      the same, over frames 12..36 only (where the time-shifted keyword mostly is)
    gru             GRU(64) over the 49 frames (edgernn's GRU-64), the reference

The majority share of the validation split is printed beside them (a model that only says
`_unknown_` scores it).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from edgernn import arrays  # noqa: E402
from edgernn.errors import UserError  # noqa: E402

VARIANTS = ("rnn", "rnn-backwards", "rnn-middle", "gru")
MIDDLE = slice(12, 37)


def newest_cache(folder: Path) -> Path:
    caches = sorted((folder / ".edgernn_cache").glob("features-*.npz"), key=lambda p: p.stat().st_mtime)
    if not caches:
        raise UserError(f"no feature cache in {folder}/.edgernn_cache "
                        "(run `edgernn train --task kws --data FOLDER ...` once)")
    return caches[-1]


def build(keras, variant: str, steps: int, features: int):
    inp = keras.Input((steps, features))
    if variant == "gru":
        h = keras.layers.GRU(64)(inp)
    else:
        h = keras.layers.SimpleRNN(64, go_backwards=variant == "rnn-backwards")(inp)
    return keras.Model(inp, keras.layers.Dense(12, activation="softmax")(h))


def main() -> int:
    """Bad input (no cache, a damaged or foreign .npz, an unknown variant): one error line, exit 2."""
    try:
        return probe()
    except UserError as e:
        print(f"edgernn: error: {e}", file=sys.stderr)
        return 2


def probe() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data", type=Path, help="keyword data folder with a feature cache")
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--cache", type=Path, help="this feature cache (default: the folder's newest)")
    ap.add_argument("--variants", default=",".join(VARIANTS))
    a = ap.parse_args()
    variants = a.variants.split(",")
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        raise UserError(f"unknown variant(s) {', '.join(unknown)} (choose from {', '.join(VARIANTS)})")

    from edgernn.tf import load

    tf, keras = load()
    cache = a.cache or newest_cache(a.data)
    print(f"features: {cache}")
    d = arrays.read_npz(cache)
    missing = [k for k in ("train_X", "train_y", "val_X", "val_y") if k not in d]
    if missing:
        raise UserError(f"{cache} is not a keyword feature cache (no {', '.join(missing)})")
    x, y, xv, yv = d["train_X"], d["train_y"], d["val_X"], d["val_y"]
    mean, std = x.mean((0, 1)), x.std((0, 1)) + 1e-6
    x, xv = (x - mean) / std, (xv - mean) / std
    print(f"train {len(y)} clips, validation {len(yv)}; majority share of validation "
          f"{np.bincount(yv).max() / len(yv):.3f}")
    for variant in variants:
        xt, xvt = (x[:, MIDDLE], xv[:, MIDDLE]) if variant == "rnn-middle" else (x, xv)
        tf.random.set_seed(0)
        model = build(keras, variant, xt.shape[1], xt.shape[2])
        model.compile(keras.optimizers.Adam(3e-3, clipnorm=1.0), "sparse_categorical_crossentropy", ["accuracy"])
        h = model.fit(xt, y, batch_size=64, epochs=a.epochs, validation_data=(xvt, yv), verbose=0).history
        print(f"{variant:14s} train acc {h['accuracy'][-1]:.3f}  val acc {h['val_accuracy'][-1]:.3f}  "
              f"(best val {max(h['val_accuracy']):.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
