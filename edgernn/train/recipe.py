"""The training recipe: batch size, epochs, patience, warm-up and clipping derived from the data.

Fixed settings fail on small sets: batch 64 on 300 sequences is 5 optimizer steps per epoch,
and patience 8 then stops training after ~40 steps, before the model has learnt anything.
So the recipe counts optimizer steps, not epochs, and derives every epoch count from
the training split's size alone (never from validation or test results):

- batch size: the largest power of two giving >= 10 steps per epoch, within 8..64;
- epochs (the ceiling; early stopping ends sooner): enough for ~1000 steps, within 40..300;
- patience: ~200 steps without validation improvement, within 8..40 epochs; with the cosine
  schedule the whole schedule (the best epoch's weights are still the ones kept);
- learning rate: 1e-2 for a small sequence-classification set (<= 1000 training sequences, where
  the ~1000-step budget is a few hundred epochs), 6e-3 for keyword spotting, else 3e-3 (see
  ``auto_lr`` for the evidence);
- learning-rate warm-up: linear from ~0 over ~50 steps (1..5 epochs), then halved on plateaus of
  the validation loss, from ``min_epochs`` on; keyword spotting instead follows half a cosine
  from the peak to 0 at the epoch ceiling (``auto_lr_schedule``);
- gradient clipping at global norm 1 (recurrent nets on raw real signals can blow up);
- early stopping and best-weights restore only from ``min_epochs`` on (~100 steps, at least the
  warm-up), so a lucky first epoch is never what is kept.

Every value can be given explicitly; ``config.json["recipe"]`` records the values used and which
were derived.
"""
from __future__ import annotations

import math

from edgernn.errors import UserError

STEPS_PER_EPOCH_TARGET = 10
TOTAL_STEPS_TARGET = 1000
PATIENCE_STEPS = 200
WARMUP_STEPS = 50
MIN_STEPS_BEFORE_STOPPING = 100
DEFAULT_LR = 3e-3
SMALL_SET_LR = 1e-2
SMALL_SET_MAX = 1000  # training sequences
DEFAULT_CLIPNORM = 1.0
# "plateau": the peak rate after the warm-up, halved when the validation loss stalls; "cosine": after
# the warm-up the rate follows half a cosine from the peak to 0 at the epoch ceiling (a fixed
# annealing that does not depend on how noisy the validation loss is).
LR_SCHEDULES = ("plateau", "cosine")
DEFAULT_LR_SCHEDULE = "plateau"
KWS_LR = 6e-3
DENSE_HEAD_LR = 3e-4   # --arch dense (issue 25's head, Adam 3e-4); see auto_lr
KWS_LR_SCHEDULE = "cosine"
# Optimizer steps per call of the compiled training function (Keras ``steps_per_execution``). With the
# cosine schedule the rate is computed inside the graph from the step count (``cosine_schedule``),
# so several steps can run per call with the same arithmetic, step for step; the plateau rule's
# warm-up sets the rate from Python before every step, so it needs 1. Default 1: 32 steps per call
# cost KWS training 3-10% more CPU-seconds, not less (docs/notes/2026-12-08-demo-speed-2.md).
DEFAULT_STEPS_PER_EXECUTION = 1
KEYS = ("batch_size", "epochs", "patience", "warmup_epochs", "min_epochs", "lr", "clipnorm", "lr_schedule",
        "steps_per_execution")


def _clamp(v: int, lo: int, hi: int) -> int:
    return max(lo, min(hi, v))


def auto_batch_size(n_train: int) -> int:
    target = max(1, n_train // STEPS_PER_EPOCH_TARGET)
    return _clamp(2 ** int(math.floor(math.log2(target))), 8, 64)


def auto_lr(n_train: int, task: str | None, arch: str | None = None) -> float:
    """The learning rate when none is given.

    Small sequence-classification sets get 1e-2. Evidence, validation splits only (never test):
    in the hand-tuning grid of ``tools/bench_real.py`` (batch 8/32 x lr 1e-3/1e-2 x patience
    10/40, GRU-32 and LSTM-32, seed 0, 30-216 training sequences, five sets) a configuration with
    lr 1e-2 had the lowest validation loss on 8 of the 10 set x model pairs (the other two:
    GunPoint LSTM, where the earlier 3e-3 default was lowest, and ArrowHead GRU, where nothing
    learnt). With it the defaults' validation accuracy rose or stayed on all ten
    (docs/notes/2026-11-30-training-recipe-revision.md). Larger sets
    (keyword spotting: thousands of clips, hundreds of steps per epoch) keep the 3e-3 they were
    measured with; anomaly windows too (no evidence either way). Keyword spotting: 6e-3 with the
    cosine schedule (see ``auto_lr_schedule``). A dense head (``--arch dense``, some 200,000 weights
    on 1,536 standardized embedding values) 3e-4, the rate of issue 25's experiment: on kws120-real
    (festival held out, seed 0) 6e-3 reached 62.6% validation accuracy with 88.9% on training;
    see docs/notes/2026-12-08-real-speech-2.md for the validation comparison.
    """
    if arch == "dense":
        return DENSE_HEAD_LR
    if task == "kws":
        return KWS_LR
    return SMALL_SET_LR if task == "classify" and n_train <= SMALL_SET_MAX else DEFAULT_LR


def auto_lr_schedule(task: str | None) -> str:
    """The learning-rate schedule when none is given: cosine for keyword spotting, else plateau halving.

    Evidence (validation data only; GRU-64, the default 20,800-clip keyword set with flite held
    out, seed 0, festival and the test split never looked at;
    docs/notes/2026-11-30-keyword-training-schedule.md):
    with plateau halving (patience 2 epochs at 417 steps per epoch) the rate was halved 7 times by
    epoch 40, from epoch 12 on, and the model still underfit (training accuracy 84% below
    validation 86%). Warm-up + cosine from 6e-3 lowered the validation loss 0.375 -> 0.344 and
    raised every validation figure at the same 40 epochs and cost; a 1e-2 peak was no better.
    Small classification and anomaly sets keep the plateau rule they were measured with.
    """
    return KWS_LR_SCHEDULE if task == "kws" else DEFAULT_LR_SCHEDULE


def make_recipe(n_train: int, batch_size: int | None = None, epochs: int | None = None,
                patience: int | None = None, warmup_epochs: int | None = None, min_epochs: int | None = None,
                lr: float | None = None, clipnorm: float | None = None, task: str | None = None,
                lr_schedule: str | None = None, steps_per_execution: int | None = None,
                arch: str | None = None) -> dict:
    """Resolved training settings for ``n_train`` training sequences of ``task``; ``None`` = derive it."""
    given = {k: v for k, v in dict(batch_size=batch_size, epochs=epochs, patience=patience,
                                   warmup_epochs=warmup_epochs, min_epochs=min_epochs, lr=lr,
                                   clipnorm=clipnorm, lr_schedule=lr_schedule,
                                   steps_per_execution=steps_per_execution).items() if v is not None}
    _check(given)
    if n_train < 1:
        raise UserError("no training samples")
    r = dict(given)
    r.setdefault("batch_size", auto_batch_size(n_train))
    steps = max(1, math.ceil(n_train / r["batch_size"]))
    r.setdefault("epochs", _clamp(math.ceil(TOTAL_STEPS_TARGET / steps), 40, 300))
    r.setdefault("lr_schedule", auto_lr_schedule(task))
    # a cosine schedule is a fixed budget whose gain comes at its end, at low rates: patience would cut
    # it short at a noisy validation minimum (the best weights are still restored)
    r.setdefault("patience", r["epochs"] if r["lr_schedule"] == "cosine"
                 else _clamp(math.ceil(PATIENCE_STEPS / steps), 8, 40))
    r.setdefault("warmup_epochs", min(_clamp(math.ceil(WARMUP_STEPS / steps), 1, 5), max(0, r["epochs"] - 1)))
    r.setdefault("min_epochs", min(max(r["warmup_epochs"], math.ceil(MIN_STEPS_BEFORE_STOPPING / steps)),
                                   r["epochs"] // 4))
    r.setdefault("lr", auto_lr(n_train, task, arch))
    r.setdefault("clipnorm", DEFAULT_CLIPNORM)
    r.setdefault("steps_per_execution", DEFAULT_STEPS_PER_EXECUTION)
    if r["steps_per_execution"] > 1 and r["lr_schedule"] != "cosine":
        raise UserError("--steps-per-execution above 1 needs --lr-schedule cosine (the plateau rule's warm-up "
                        "sets the rate before every step)")
    r["steps_per_epoch"] = steps
    r["derived"] = [k for k in KEYS if k not in given]
    return r


def _check(given: dict) -> None:
    for k in ("batch_size", "epochs", "patience", "steps_per_execution"):
        if k in given and given[k] < 1:
            raise UserError(f"--{k.replace('_', '-')} must be >= 1 (got {given[k]})")
    for k in ("warmup_epochs", "min_epochs"):
        if k in given and given[k] < 0:
            raise UserError(f"--{k.replace('_', '-')} must be >= 0 (got {given[k]})")
    if "lr" in given and not (given["lr"] > 0 and math.isfinite(given["lr"])):  # NaN and inf too
        raise UserError(f"--lr must be > 0 (got {given['lr']})")
    if "clipnorm" in given and not (given["clipnorm"] >= 0 and math.isfinite(given["clipnorm"])):
        raise UserError(f"--clipnorm must be >= 0 (0 turns clipping off; got {given['clipnorm']})")
    if "lr_schedule" in given and given["lr_schedule"] not in LR_SCHEDULES:
        raise UserError(f"--lr-schedule must be one of {', '.join(LR_SCHEDULES)} (got {given['lr_schedule']!r})")


def plateau_callback(keras, monitor: str, patience: int, start_epoch: int, min_lr: float):
    """Halve the learning rate when ``monitor`` stalls for ``patience`` epochs, never before
    ``start_epoch`` (0-based, as early stopping's ``start_from_epoch``), never below ``min_lr``.

    Why not from the first epoch: the validation loss of a model that has not started to learn
    is flat (uniform outputs), so the plateau rule halved the rate every few epochs from the first
    ones on (ArrowHead, 30 training sequences: 3e-3 -> 4e-4 by epoch 70 -> 3e-6 by epoch 160,
    the training loss still at ln 3). Why still the validation loss afterwards: the cuts also
    calm the loss spikes of a recurrent net at a high rate (GunPoint LSTM: watching the training
    loss instead let a spike at epoch 60 end the run; validation loss 0.62 instead of 0.007).
    """

    class Plateau(keras.callbacks.ReduceLROnPlateau):
        def on_epoch_end(self, epoch, logs=None):
            if epoch >= start_epoch:  # 0-based, as EarlyStopping(start_from_epoch=...)
                super().on_epoch_end(epoch, logs)

    return Plateau(monitor=monitor, factor=0.5, patience=patience, min_lr=min_lr)


def warmup_lr(step: int, lr: float, warmup_steps: int) -> float | None:
    """Linear warm-up to ``lr`` over ``warmup_steps`` optimizer steps; ``None`` afterwards."""
    return lr * (step + 1) / warmup_steps if step < warmup_steps else None


def cosine_lr(step: int, lr: float, warmup_steps: int, total_steps: int) -> float:
    """Linear warm-up to ``lr`` over ``warmup_steps``, then half a cosine down to 0 at ``total_steps``."""
    rate = warmup_lr(step, lr, warmup_steps)
    if rate is not None:
        return rate
    span = max(1, total_steps - warmup_steps)
    return 0.5 * lr * (1.0 + math.cos(math.pi * min(1.0, (step - warmup_steps) / span)))


def step_lr_callback(keras, lr_at):
    """Sets the learning rate before every optimizer step to ``lr_at(step)`` (``None``: left as it is)."""

    class StepLR(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.step = 0

        def on_train_batch_begin(self, batch, logs=None):
            rate = lr_at(self.step)
            if rate is not None:
                keras.backend.set_value(self.model.optimizer.learning_rate, rate)
            self.step += 1

    return StepLR()


def warmup_callback(keras, lr: float, warmup_steps: int):
    """Linear warm-up over the first ``warmup_steps`` optimizer steps; afterwards ReduceLROnPlateau
    owns the learning rate."""
    return step_lr_callback(keras, lambda step: warmup_lr(step, lr, warmup_steps))


def cosine_schedule(keras, lr: float, warmup_steps: int, total_steps: int):
    """``cosine_lr`` as a Keras learning-rate schedule: computed in the training graph from the
    optimizer's step count, so no Python call is needed between steps (and several steps can run
    per call: ``steps_per_execution``). Same rates as ``cosine_callback``, bit for bit: the same
    float64 operations in the same order (``cos`` is the C library's in both), then rounded to
    float32 as ``set_value`` rounds a Python float (tests/train/test_recipe.py checks every step)."""
    from edgernn.tf import load

    tf, _ = load()
    peak, warm, span = float(lr), int(warmup_steps), float(max(1, total_steps - warmup_steps))

    class CosineSchedule(keras.optimizers.schedules.LearningRateSchedule):
        def __call__(self, step):
            s = tf.cast(step, tf.float64)
            rising = peak * (s + 1.0) / float(max(1, warm))
            falling = 0.5 * peak * (1.0 + tf.cos(math.pi * tf.minimum(tf.constant(1.0, tf.float64), (s - warm) / span)))
            return tf.cast(tf.where(s < warm, rising, falling), tf.float32)

        def get_config(self):
            return {"lr": peak, "warmup_steps": warm, "total_steps": int(total_steps)}

    return CosineSchedule()


def cosine_callback(keras, lr: float, warmup_steps: int, total_steps: int):
    """Sets the learning rate of every optimizer step to ``cosine_lr`` (replaces warm-up and plateau halving)."""
    return step_lr_callback(keras, lambda step: cosine_lr(step, lr, warmup_steps, total_steps))
