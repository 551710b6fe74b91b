"""Keyword-spotting training levers judged on VALIDATION data, one engine held out (docs/notes/2026-11-30-rejecting-non-keywords.md).

    python tools/kws_rejection_levers.py --data data/kws --out runs/levers/tuf8 --train-unknown-fraction 8 --copies 3
    python tools/kws_rejection_levers.py --data data/kws --out runs/levers/cos --lr-schedule cosine --lr 0.006

Trains GRU-64 (or --arch, --units) with ``--holdout-engine`` (default flite: never choose on the engine the
bench tests, festival) and prints one row: validation keyword accuracy, share of validation
non-keywords classified as a keyword, validation keyword accuracy once the ``_unknown_``
log-probability is shifted until at most 10% / 5% of the validation non-keywords fire (compares the
whole trade-off, not one point of it), validation cross-entropy of the kept weights (unsmoothed,
so rows with label smoothing compare), the held-out engine's keyword accuracy and false-fire rate,
training samples per epoch, epochs run and training seconds. Never reads the test split.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np


def keyword_accuracy_at_false_fire(log_probs: np.ndarray, y: np.ndarray, target: float) -> float:
    """Keyword accuracy after adding the smallest _unknown_ bias that keeps false fires <= target."""
    kw, unk = y > 1, y == 1
    for bias in np.linspace(-4, 8, 241):
        shifted = log_probs.copy()
        shifted[:, 1] += bias
        pred = shifted.argmax(-1)
        if not unk.any() or (pred[unk] > 1).mean() <= target:
            return float((pred[kw] == y[kw]).mean())
    return 0.0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True, help="a synthesized keyword folder (speakers.csv names the engines)")
    ap.add_argument("--out", required=True, help="run folder to write")
    ap.add_argument("--arch", default="gru")
    ap.add_argument("--units", type=int, default=64, help="hidden units (64: the size the goals are set for)")
    ap.add_argument("--holdout-engine", default="flite")
    ap.add_argument("--train-unknown-fraction", type=float, default=None, help="default: the loader's")
    ap.add_argument("--copies", type=int, default=None, help="augmented copies (default: the default's)")
    ap.add_argument("--n-mfcc", type=int, default=None, help="MFCCs per frame (default: the front end's)")
    ap.add_argument("--feature-kind", default=None, help="mfcc or logmel (default: the front end's)")
    ap.add_argument("--mean-norm", action="store_true", help="subtract each window's mean per coefficient")
    ap.add_argument("--augment-options", default=None, help="as `edgernn train --augment-options`")
    for name, kind in (("batch-size", int), ("lr", float), ("epochs", int), ("lr-schedule", str),
                       ("label-smoothing", float), ("unknown-weight", float)):
        ap.add_argument(f"--{name}", type=kind, default=None, help=f"as `edgernn train --{name}` (default: its)")
    args = ap.parse_args(argv)

    from edgernn import api
    from edgernn.data import load_dataset
    from edgernn.io import load_keras_model
    from edgernn.records import read_config
    from edgernn.train.run import prepare_inputs

    options: dict = {}
    if args.train_unknown_fraction is not None:
        options["train_unknown_fraction"] = args.train_unknown_fraction
    if args.n_mfcc is not None:
        options["features"] = {"n_mfcc": args.n_mfcc}
    if args.feature_kind or args.mean_norm:
        options.setdefault("features", {})
        if args.feature_kind:
            options["features"]["kind"] = args.feature_kind
        if args.mean_norm:
            options["features"]["mean_norm"] = True
    from edgernn.data.augment import parse_augment_options

    augment = parse_augment_options(args.augment_options) if args.augment_options else {}
    if args.copies is not None:
        augment["copies"] = args.copies
    recipe = {k: getattr(args, k) for k in ("batch_size", "lr", "epochs", "lr_schedule", "label_smoothing",
                                            "unknown_weight") if getattr(args, k) is not None}
    run = api.train(task="kws", arch=args.arch, units=args.units, data=args.data, out=args.out, overwrite=True,
                    holdout_engine=args.holdout_engine, augment=augment or True, data_options=options or None,
                    progress=False, **recipe)
    config = read_config(Path(run) / "config.json")
    metrics = json.loads((Path(run) / "metrics.json").read_text())
    history = json.loads((Path(run) / "history.json").read_text())
    model = load_keras_model(Path(run) / "model.keras")  # through the model gate, like every load
    ds = load_dataset(config.data, task="kws", progress=False, **config.loader_options())
    val = ds.splits["val"]
    log_probs = np.log(model.predict(prepare_inputs(val.X, config), batch_size=512, verbose=0) + 1e-9)
    pred = log_probs.argmax(-1)
    kw, unk = val.y > 1, val.y == 1
    h = metrics["holdout"]
    row = {"run": str(run), "val_keyword_acc": float((pred[kw] == val.y[kw]).mean()),
           "val_nonkeywords_fired": float((pred[unk] > 1).mean()),
           "val_kw_acc_at_10pct_fired": keyword_accuracy_at_false_fire(log_probs, val.y, 0.10),
           "val_kw_acc_at_5pct_fired": keyword_accuracy_at_false_fire(log_probs, val.y, 0.05),
           "val_loss": float(-log_probs[np.arange(len(val.y)), val.y].mean()),
           "best_val_loss_in_history": min(history["val_loss"]), "holdout_keyword_acc": h["keyword_accuracy"],
           "holdout_nonkeywords_fired": h["false_fire_rate"], "samples_per_epoch": len(ds.splits["train"].y),
           "epochs_run": config.epochs_run, "train_seconds": config.train_seconds,
           "recipe": config.recipe.model_dump(include={"batch_size", "lr", "epochs", "lr_schedule"}),
           "label_smoothing": config.label_smoothing, "unknown_weight": config.unknown_weight,
           "augment": config.augment.model_dump(exclude_none=True) if config.augment else None}
    print(json.dumps(row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
