"""Replay early stopping on the validation curves of runs trained to their epoch ceiling.

    python tools/early_stop_replay.py runs/gru64 runs/lstm64 [--patience 2,3,4,5,6,8] [--json out.json]

With a fixed schedule (``--lr-schedule cosine``: the rate depends on the step and the epoch ceiling,
never on validation), a run stopped after epoch S is, epoch for epoch, the same computation as the
full run up to S; early stopping then keeps the weights of the epoch with the lowest validation
loss up to S (from ``--min-epochs`` on, as ``train`` does). So each run's history.json tells, for
every patience P, where training would have stopped, which epoch's weights it would have kept and
their validation loss and accuracy: a choice on validation only, no test figure involved. When
the kept epoch is the full run's own best epoch, the kept model is the full run's model, so its
test accuracy is the full run's too (reported as "same model").
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def replay(val_loss: list[float], patience: int, start: int = 0) -> tuple[int, int]:
    """(epochs run, kept epoch), 1-based, of Keras EarlyStopping(patience, start_from_epoch=start,
    restore_best_weights=True) monitoring ``val_loss``, min_delta 0."""
    best, best_epoch, wait = float("inf"), None, 0
    for e, v in enumerate(val_loss):
        if e < start:
            continue
        wait += 1
        if v < best:
            best, best_epoch, wait = v, e, 0
            continue
        if wait >= patience and e > 0:
            return e + 1, best_epoch + 1
    return len(val_loss), (best_epoch + 1 if best_epoch is not None else len(val_loss))


def analyse(run: Path, patiences: list[int]) -> dict:
    history = json.loads((run / "history.json").read_text())
    config = json.loads((run / "config.json").read_text())
    recipe = config.get("recipe", {})
    if recipe.get("lr_schedule") != "cosine":
        raise SystemExit(f"early_stop_replay.py: error: {run}: not a cosine-schedule run (the replay needs a "
                         "schedule that does not depend on validation)")
    loss, acc = history["val_loss"], history["val_accuracy"]
    start = int(recipe.get("min_epochs", 0))
    full_epochs, full_kept = replay(loss, 10**6, start)
    rows = []
    for p in patiences:
        run_epochs, kept = replay(loss, p, start)
        rows.append({"patience": p, "epochs_run": run_epochs, "kept_epoch": kept,
                     "val_loss": round(loss[kept - 1], 4), "val_accuracy": round(acc[kept - 1], 4),
                     "epochs_saved": full_epochs - run_epochs, "same_model": kept == full_kept})
    return {"run": str(run), "arch": config.get("arch"), "epochs": full_epochs, "kept_epoch": full_kept,
            "val_loss": round(loss[full_kept - 1], 4), "val_accuracy": round(acc[full_kept - 1], 4), "rows": rows}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs", nargs="+", type=Path)
    p.add_argument("--patience", default="2,3,4,5,6,8,10", help="comma-separated patiences (epochs)")
    p.add_argument("--json", type=Path, help="also write the results here")
    a = p.parse_args()
    try:
        patiences = [int(x) for x in a.patience.split(",")]
        assert all(1 <= x <= 10**4 for x in patiences)
    except (ValueError, AssertionError):
        print("early_stop_replay.py: error: --patience takes comma-separated integers 1..10000", file=sys.stderr)
        return 2
    for run in a.runs:
        if not (run / "history.json").is_file() or not (run / "config.json").is_file():
            print(f"early_stop_replay.py: error: {run}: no history.json / config.json", file=sys.stderr)
            return 2
    results = [analyse(run, patiences) for run in a.runs]
    for r in results:
        print(f"{r['run']} ({r['arch']}): to the ceiling {r['epochs']} epochs, kept epoch {r['kept_epoch']}, "
              f"val loss {r['val_loss']}, val acc {r['val_accuracy']}")
        for row in r["rows"]:
            print(f"  patience {row['patience']:>3}: {row['epochs_run']:>3} epochs (-{row['epochs_saved']}), kept "
                  f"{row['kept_epoch']:>3}, val loss {row['val_loss']}, val acc {row['val_accuracy']}"
                  + (", same model" if row["same_model"] else ""))
    if a.json:
        a.json.write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
