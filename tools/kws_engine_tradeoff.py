"""Compare KWS runs on their held-out engine over the whole keyword / false-fire trade-off.

    python tools/kws_engine_tradeoff.py RUN [RUN ...]

For runs trained with ``--holdout-engine`` (e.g. by tools/kws_rejection_levers.py, flite held out),
prints per run: the held-out engine's keyword accuracy and non-keywords fired at the model's own
operating point, then its keyword accuracy once the ``_unknown_`` log-probability is shifted
until at most 10% / 5% / 3% of its non-keywords fire. Used to choose the synthesis engines
(docs/notes/2026-11-30-neural-voice-shares-and-kokoro.md): runs on different datasets have different validation splits, but
the held-out engine is outside every one of them, so it compares them on equal terms. Meant for
the validation engine (flite), never the engine the benchmark tests (festival).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from kws_rejection_levers import keyword_accuracy_at_false_fire  # noqa: E402

TARGETS = (0.10, 0.05, 0.03)


def holdout_row(run: Path) -> dict:
    from edgernn.data import load_dataset
    from edgernn.io import load_keras_model
    from edgernn.records import read_config
    from edgernn.train.run import prepare_inputs

    config = read_config(run / "config.json")
    engine = config.data_options.holdout_engine if config.data_options else None
    if not engine:
        raise SystemExit(f"{run}: trained without --holdout-engine")
    model = load_keras_model(run / "model.keras")  # through the model gate, like every load
    ds = load_dataset(config.data, task="kws", progress=False, **config.loader_options())
    hold = ds.splits["holdout"]
    log_probs = np.log(model.predict(prepare_inputs(hold.X, config), batch_size=512, verbose=0) + 1e-9)
    pred = log_probs.argmax(-1)
    kw, unk = hold.y > 1, hold.y == 1
    row = {"run": str(run), "holdout_engine": engine, "keyword_clips": int(kw.sum()), "nonkeyword_clips": int(unk.sum()),
           "keyword_acc": float((pred[kw] == hold.y[kw]).mean()), "nonkeywords_fired": float((pred[unk] > 1).mean())}
    for t in TARGETS:
        row[f"keyword_acc_at_{round(t * 100)}pct_fired"] = keyword_accuracy_at_false_fire(log_probs, hold.y, t)
    return row


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("runs", nargs="+", type=Path, help="run folders trained with --holdout-engine")
    args = ap.parse_args(argv)
    for run in args.runs:
        print(json.dumps(holdout_row(run)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
