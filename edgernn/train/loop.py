"""``edgernn train``: fit a GRU/LSTM model on a dataset and write a complete run folder."""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from edgernn import defaults as D
from edgernn import io
from edgernn.data import TASKS, load_dataset
from edgernn.data.dataset import Dataset, Split
from edgernn.errors import UserError
from edgernn.models import HEADS, build_anomaly, build_classifier, check_arch, check_size, count_macs, count_params
from edgernn.models.frame import framed_shape, stack_frames
from edgernn.train import metrics as M
from edgernn.train import guard as G
from edgernn.train import plots
from edgernn.train import select as S
from edgernn.train.baselines import baselines as nn_baselines
from edgernn.train.recipe import KEYS, cosine_schedule, make_recipe, plateau_callback, warmup_callback
from edgernn.records import InputNorm, RunConfig, record_of, write_config, write_metrics
from edgernn.train.run import input_norm, normalize_series, prepare_inputs, to_model_inputs

# batch size, epochs, patience and learning rate are derived from the data (train.recipe) unless given
DEFAULTS = {"dropout": 0.3}
# With KWS augmentation on (fresh masks every batch, noisy extra copies) the model underfits rather
# than overfits (training accuracy stays below validation accuracy): dropout on top only cost
# validation accuracy (GRU-64, default keyword set, flite held out: 86.2% -> 87.1% without it).
AUGMENTED_KWS_DROPOUT = 0.0
# Keyword spotting trains an unrolled copy of the model (same weights, copied into the saved model):
# the recurrent layer's while loop hands every time step's few small ops between threads, and on
# 2 shared cores those hand-offs, not arithmetic, set the pace. Unrolled over 49 steps, GRU-64 and
# LSTM-64 took ~1.4x fewer CPU-seconds per sample and 2-4x less wall time on a loaded machine
# (docs/notes/2026-12-07-demo-speed.md). Bounded: the graph grows with the steps (long series
# would take long to build and hold much memory), and classify/anomaly sets were not measured.
UNROLL_MAX_STEPS = 100


def default_dropout(task: str, augment, arch: str = "gru") -> float:
    """Dropout when none is given: none for augmented keyword spotting with a recurrent cell, else
    DEFAULTS["dropout"] (a dense head keeps it: issue 25's head, 2 x 128 with dropout 0.3)."""
    if arch in HEADS:
        return DEFAULTS["dropout"]
    return AUGMENTED_KWS_DROPOUT if task == "kws" and augment is not False else DEFAULTS["dropout"]


def balanced_class_weights(y: np.ndarray, num_classes: int) -> dict[int, float]:
    counts = np.bincount(y, minlength=num_classes).astype(float)
    return {k: float(len(y) / (num_classes * c)) if c else 0.0 for k, c in enumerate(counts)}


def _progress_callback(keras, epochs: int, enabled: bool):
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    class RichProgress(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.bar = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                                TimeElapsedColumn(), disable=not enabled, transient=False)
            self.bar.start()
            self.task = self.bar.add_task("training", total=epochs)

        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            shown = "  ".join(f"{k} {v:.4f}" for k, v in logs.items() if k in
                              ("loss", "accuracy", "val_loss", "val_accuracy"))
            self.bar.update(self.task, advance=1, description=f"epoch {epoch + 1}  {shown}")

        def on_train_end(self, logs=None):
            self.bar.update(self.task, total=self.bar.tasks[0].completed)
            self.bar.stop()

    return RichProgress()


def kws_class_weights(weights: dict[int, float], unknown_weight: float = 1.0) -> dict[int, float]:
    """Keywords balanced among themselves; an _unknown_ clip weighs ``unknown_weight`` keyword clips.

    _unknown_ stands for hundreds of words: balanced weighting would shrink it to one keyword's
    share of the loss, and the model would learn to call unknown speech a keyword.
    """
    keyword_weights = [w for k, w in weights.items() if k > 1]
    return {**weights, 1: float(np.mean(keyword_weights)) * unknown_weight} if keyword_weights else weights


def _validate(task, arch, units, layers, dropout=0.0, label_smoothing=0.0, unknown_weight=1.0, features=None):
    if not (isinstance(dropout, (int, float)) and 0.0 <= dropout < 1.0):  # NaN fails too
        raise UserError(f"--dropout must be in [0, 1), got {dropout}")
    if not (isinstance(label_smoothing, (int, float)) and 0.0 <= label_smoothing < 1.0):
        raise UserError(f"--label-smoothing must be in [0, 1), got {label_smoothing}")
    if label_smoothing and task == "anomaly":
        raise UserError("--label-smoothing is for classifiers (--task kws or classify)")
    if not (isinstance(unknown_weight, (int, float)) and 0.0 < unknown_weight <= 100.0):
        raise UserError(f"--unknown-weight must be in (0, 100], got {unknown_weight}")
    if task not in TASKS:
        raise UserError(f"unknown task {task!r} (choose from {', '.join(TASKS)})")
    check_arch(arch, features if task == "kws" else None)
    check_size(units, layers)


def train(task: str, arch: str, data: str | Path, out: str | Path, units: int = D.TRAIN_UNITS,
          layers: int = D.TRAIN_LAYERS,
          epochs: int | None = None, batch_size: int | None = None, lr: float | None = None,
          patience: int | None = None, dropout: float | None = None, seed: int = D.SEED,
          class_weights: bool = True, anomaly_model: str = D.ANOMALY_MODEL, overwrite: bool = False,
          progress: bool = True, callbacks=(), warmup_epochs: int | None = None, min_epochs: int | None = None,
          clipnorm: float | None = None, data_options: dict | None = None,
          feature_arithmetic: str = D.FEATURE_ARITHMETIC, features: str = D.TRAIN_FEATURES,
          keywords=None, holdout_engine: str | None = None, augment: bool | dict = True,
          lr_schedule: str | None = None, label_smoothing: float = D.LABEL_SMOOTHING,
          unknown_weight: float = D.UNKNOWN_WEIGHT, frame: int | str | None = None,
          normalize: str | None = None, augment_strength: float | str | None = None,
          steps_per_execution: int | None = None,
          teacher: str | Path | None = None, distill_alpha: float = D.DISTILL_ALPHA,
          temperature: float = D.DISTILL_TEMPERATURE,
          unlabelled_minutes: float = D.DISTILL_UNLABELLED_MINUTES, select: str | None = None) -> Path:
    """Train a model and write the run folder ``out`` (built atomically). Returns its path.

    ``epochs``, ``batch_size``, ``lr``, ``patience``, ``warmup_epochs``, ``min_epochs``, ``clipnorm``:
    ``None`` derives them from the training split's size (see ``edgernn.train.recipe``).
    ``data_options`` go to the dataset loader (e.g. anomaly ``window``, ``stride``, ``train_end``)
    and are written to ``config.json`` so every later step loads the data the same way.
    ``feature_arithmetic`` (kws): "fixed" trains on the integer front end of cores without an FPU.
    ``features`` (kws): "mfcc" (the C front end's) or "embedding" (a pretrained speech-embedding model,
    ``edgernn.features.speech_embedding``: a two-stage pipeline for hosts, no firmware).
    KWS only: ``keywords`` (default: the dataset's), ``holdout_engine`` (a synthesis engine kept
    out of train/val/test and reported on its own), ``augment`` (True: defaults, a dict: overrides,
    False: off; see ``edgernn.data.augment``), ``unknown_weight`` (loss weight of an _unknown_ clip
    relative to a keyword clip). ``dropout``: ``None`` = ``default_dropout``. ``lr_schedule``:
    "plateau" or "cosine" (``None``: the recipe's). ``steps_per_execution``: optimizer steps per call of the
    compiled training function (``None``: 1; above 1 needs the cosine schedule; the same arithmetic
    either way). ``label_smoothing``: classifiers, 0 = off.
    Classify only (docs/guides/long-series.md): ``frame`` (K samples per step, or "auto"),
    ``normalize`` ("series", "feature", "none" or "auto"), ``augment_strength`` (0..1 or "auto";
    ``augment=False`` means 0); "auto" (the default) is chosen on the validation split, or with
    ``select`` ("val", "cv" or "auto", the default) by k-fold cross-validation over the training and
    validation rows, the chosen candidate then trained on all of them.
    KWS distillation (``edgernn.train.distill``): ``teacher`` (a keyword run of the same classes and
    sample rate) gives soft targets on the labelled clips and on ``unlabelled_minutes`` of the training
    speakers' real speech; ``distill_alpha`` weighs them against the labels, at ``temperature``.
    """
    if dropout is None:
        dropout = default_dropout(task, augment, arch)
    _validate(task, arch, units, layers, dropout, label_smoothing, unknown_weight, features)
    recipe_args = dict(batch_size=batch_size, epochs=epochs, patience=patience, warmup_epochs=warmup_epochs,
                       min_epochs=min_epochs, lr=lr, clipnorm=clipnorm, lr_schedule=lr_schedule,
                       steps_per_execution=steps_per_execution)
    make_recipe(1, **recipe_args, task=task)  # bad values fail before the data is read
    S.check_options(task, frame, normalize, augment_strength, select)
    teaching = None
    if teacher is not None:
        from edgernn.train import distill as DI

        DI.check_options(distill_alpha, temperature, unlabelled_minutes)
        teaching = DI.load_teacher(teacher, task)
    out = io.check_out(out, "folder", overwrite=overwrite, replace=True, inputs=[data])
    data_options = dict(data_options or {}, **_feature_options(task, feature_arithmetic, features),
                        **_kws_data_options(task, data, keywords, holdout_engine, augment))
    ds = load_dataset(data, task=task, **data_options)
    if task != "anomaly" and ds.task == "anomaly":
        raise UserError(f"{data}: anomaly data; use --task anomaly")
    if task != "anomaly" and len(np.unique(ds.splits["train"].y)) < 2:
        raise UserError(f"{data}: the training split holds one class only; a classifier needs at least 2")
    recipe = make_recipe(len(ds.splits["train"]), **recipe_args, task=task, arch=arch)
    config = {
        "task": task, "arch": arch, "units": units, "layers": layers, "dropout": dropout,
        "input_shape": [int(d) for d in ds.input_shape], "class_names": list(ds.class_names),
        "data": str(Path(data).resolve()), "seed": seed,
        "dataset_meta": {k: v for k, v in ds.meta.items() if k not in ("holdout_words", "holdout_voices")},
        "epochs": recipe["epochs"], "batch_size": recipe["batch_size"], "lr": recipe["lr"],
        "patience": recipe["patience"], "recipe": recipe,
        "class_weights": class_weights and task != "anomaly",
        "input_norm": input_norm(ds.splits["train"].X),
    }
    if data_options.get("window") == "auto":  # later steps must cut the same windows, whatever data they read
        data_options.update(window=ds.meta["window"], stride=ds.meta["stride"])
    if data_options:
        config["data_options"] = data_options
    if task != "anomaly":
        config["label_smoothing"] = float(label_smoothing)
    if "keywords" in data_options:  # a keyword folder
        config.update({"keywords": ds.class_names[2:], "holdout_engine": holdout_engine,
                       "augment": data_options.get("augment"), "unknown_weight": float(unknown_weight)})
    elif unknown_weight != 1.0:
        raise UserError("--unknown-weight needs --task kws and a folder of word clips")
    if task == "anomaly":
        config["anomaly_model"] = anomaly_model
    if teaching is not None:
        DI.check_match(teacher, teaching[1], ds.class_names, int(ds.meta["sample_rate"]))
        config["distill"] = {"teacher": str(Path(teacher).resolve()), "alpha": float(distill_alpha),
                             "temperature": float(temperature), "unlabelled_minutes": float(unlabelled_minutes),
                             "teacher_features": teaching[1].feature_params().kind}
    candidates = []
    if task == "classify":  # resolves --normalize and records series_shape, selection (plain dict, then the record)
        candidates = _series_candidates(config, ds, frame, normalize, 0.0 if augment is False else augment_strength,
                                        select)
    # the record is checked before the work; the end-of-training figures (threshold, params) come later
    config = record_of(config, in_progress=True)
    with io.atomic_dir(out, overwrite=overwrite) as tmp:
        fit_ds, cv_acc = ds, None
        if candidates and config.select == "cv":
            model, history, seconds, config, fit_ds, cv_acc = _fit_best_cv(config, ds, progress, callbacks,
                                                                           candidates)
        elif candidates:
            model, history, seconds, config = _fit_best(config, ds, progress, callbacks, candidates)
        else:
            taught = _teaching_rows(config, ds, data, data_options, teaching, progress) if teaching else None
            if taught is not None:
                config = record_of({**config.to_json(), "distill": {**config.distill.model_dump(),
                                                                     "unlabelled_clips": len(taught["X"])}},
                                   in_progress=True)
            model, history, seconds = _fit(config, ds, progress, callbacks, taught)
        metrics = _evaluate(model, config, fit_ds, tmp)
        if task == "classify":
            metrics["baselines"] = _baselines(config, ds)
        metrics["guard"], val_acc = _guard(model, config, fit_ds, history, metrics, cv_acc)
        if cv_acc is not None:  # the validation rows trained the model: the folds' held-out accuracy stands in
            metrics["val_accuracy"] = metrics["cv_accuracy"] = cv_acc
        elif val_acc is not None:
            metrics["val_accuracy"] = val_acc  # of the kept weights; what a tuning grid may select on
        for reason in metrics["guard"]["reasons"]:
            print(f"edgernn: warning: did not learn? {reason}", file=sys.stderr)
        for reason in metrics["guard"].get("below_baseline", []):
            print(f"edgernn: warning: {reason}", file=sys.stderr)
        if "holdout" in ds.splits:
            from edgernn.train.holdout import holdout_metrics

            probs = model.predict(prepare_inputs(ds.splits["holdout"].X, config), batch_size=256, verbose=0)
            metrics["holdout"] = holdout_metrics(ds.splits["holdout"].y, probs, config.class_names, holdout_engine,
                                                 ds.meta.get("holdout_words"), ds.meta.get("holdout_voices"))
        figures = {"params": count_params(config), "macs": count_macs(config),
                   "float32_bytes": int(model.count_params() * 4), "train_seconds": round(seconds, 1),
                   "epochs_run": len(history["loss"])}
        if task == "anomaly":
            figures["threshold"] = metrics["threshold"]
        model.save(tmp / "model.keras")
        config = write_config(tmp / "config.json", {**config.to_json(), **figures})
        write_metrics(tmp / "metrics.json", metrics)
        io.write_json(tmp / "history.json", history)
        io.write_json(tmp / "train.json", io.record("train", {"data": config.data},
                                                   config.model_dump(include={"task", "arch", "units", "layers",
                                                                              "seed"}),
                                                   {"run": str(out)}, {M.main_metric(metrics)[0]: M.main_metric(metrics)[1]}))
        plots.training_curve(history, tmp / "training_curve.png", f"{out.name}: {arch.upper()}-{units} x{layers}")
    return out


def _series_candidates(config: dict, ds, frame, normalize, augment_strength, select=None) -> list[tuple[int, float]]:
    """Resolve --normalize and --select (recorded in config) and list the (frame, augment strength) candidates."""
    steps, features = ds.input_shape
    config["normalize"], evidence = S.choose_normalize(normalize, ds)
    config["select"], select_evidence = S.choose_select(select, ds)
    config["series_shape"] = [steps, features]
    frames = S.frame_candidates(frame, steps, features)
    strengths = S.strength_candidates(augment_strength, steps, features)
    config["selection"] = {"normalize": evidence, "select": select_evidence, "frames": frames,
                           "augment_strengths": strengths, "candidates": []}
    return [(k, strengths[0]) for k in frames]  # the other strengths follow at the chosen frame (_fit_best)


def _with_candidate(config: RunConfig, ds, k: int, strength: float) -> RunConfig:
    """The record for frame ``k`` and augmentation ``strength``: input shape and training statistics."""
    steps, features = config.series_shape
    framed = stack_frames(normalize_series(ds.splits["train"].X, config), k)
    norm = input_norm(framed) if config.normalize != "none" else \
        {"mean": [0.0] * features * k, "std": [1.0] * features * k}
    return record_of({**config.to_json(), "frame": k, "augment_strength": float(strength),
                      "input_shape": framed_shape(steps, features, k), "input_norm": norm}, in_progress=True)


def _fit_best(config: RunConfig, ds, progress: bool, extra_callbacks, candidates):
    """Train every candidate; keep the one with the best validation score (train.select). Frames
    first; then the other augmentation strengths at the chosen frame. Returns (model, history,
    seconds, the record of the kept candidate with the selection's evidence)."""
    tried = []
    selection = dict(config.selection)

    def run(k, strength):
        cand = _with_candidate(config, ds, k, strength)
        if progress and (len(candidates) > 1 or len(selection["augment_strengths"]) > 1):
            print(f"edgernn: candidate {len(tried) + 1}: frame {k} ({cand.input_shape[0]} steps of "
                  f"{cand.input_shape[1]}), augmentation strength {strength:g}", file=sys.stderr)
        model, history, seconds = _fit(cand, ds, progress, extra_callbacks)
        acc, loss = _val_score(model, cand, ds)
        tried.append({"cand": cand, "model": model, "history": history, "seconds": seconds,
                      "val_accuracy": acc, "val_loss": loss})

    for k, strength in candidates:
        run(k, strength)
    best_frame = max(tried, key=S.score)["cand"].frame
    for strength in selection["augment_strengths"][1:]:
        run(best_frame, strength)
    best = max(tried, key=S.score)  # max keeps the first of equals: the earlier candidate
    selection["candidates"] = [
        {"frame": t["cand"].frame, "augment_strength": t["cand"].augment_strength,
         "val_accuracy": t["val_accuracy"], "val_loss": t["val_loss"], "epochs_run": len(t["history"]["loss"]),
         "train_seconds": round(t["seconds"], 1)} for t in tried]
    chosen = record_of({**best["cand"].to_json(), "selection": selection}, in_progress=True)
    return best["model"], best["history"], sum(t["seconds"] for t in tried), chosen


def _pooled(ds) -> Dataset:
    """The dataset with its validation rows moved into the training split (and no validation split)."""
    parts = [ds.splits[s] for s in ("train", "val") if s in ds.splits and len(ds.splits[s])]
    X, y = np.concatenate([p.X for p in parts]), np.concatenate([p.y for p in parts])
    empty = Split(X[:0], y[:0])
    return Dataset(ds.task, {"train": Split(X, y), "val": empty, "test": ds.splits["test"]},
                   ds.class_names, ds.source, ds.meta)


def _fold(pooled: Dataset, folds: np.ndarray, f: int) -> Dataset:
    train, keep = pooled.splits["train"], folds != f
    return Dataset(pooled.task, {"train": Split(train.X[keep], train.y[keep]),
                                 "val": Split(train.X[~keep], train.y[~keep]), "test": pooled.splits["test"]},
                   pooled.class_names, pooled.source, pooled.meta)


def _fit_best_cv(config: RunConfig, ds, progress: bool, extra_callbacks, candidates):
    """--select cv (train.select): every candidate trained on each of k stratified folds of the training +
    validation rows and scored on the held-out fold (mean accuracy, then mean loss); frames first, then
    the other augmentation strengths at the chosen frame. The chosen candidate is trained once more on
    all rows for the folds' median kept epochs. Returns (model, history, seconds, record, the pooled
    dataset, the chosen candidate's cross-validated accuracy)."""
    pooled = _pooled(ds)
    y = pooled.splits["train"].y
    k = S.fold_count(y)
    folds = S.cv_folds(y, k, config.seed)
    selection = dict(config.selection)
    tried = []

    def run(kf, strength):
        scores, kept, kept_loss, seconds = [], [], [], 0.0
        for f in range(k):
            fold = _fold(pooled, folds, f)
            cand = _with_candidate(config, fold, kf, strength)
            if progress:
                print(f"edgernn: candidate {len(tried) + 1}: frame {kf} ({cand.input_shape[0]} steps of "
                      f"{cand.input_shape[1]}), augmentation strength {strength:g}, fold {f + 1} of {k}",
                      file=sys.stderr)
            model, history, sec = _fit(cand, fold, progress, extra_callbacks)
            scores.append(_val_score(model, cand, fold))
            kept.append(S.kept_epochs(history, cand.recipe.min_epochs))
            kept_loss.append(float(history["loss"][kept[-1] - 1]))
            seconds += sec
        acc, loss = (float(np.mean(v)) for v in zip(*scores))
        tried.append({"frame": kf, "augment_strength": float(strength), "val_accuracy": acc, "val_loss": loss,
                      "fold_accuracy": [s[0] for s in scores], "kept_epochs": kept, "kept_train_loss": kept_loss,
                      "train_seconds": round(seconds, 1),
                      "steps_per_epoch": cand.recipe.steps_per_epoch})

    for kf, strength in candidates:
        run(kf, strength)
    best_frame = max(tried, key=S.score)["frame"]
    for strength in selection["augment_strengths"][1:]:
        run(best_frame, strength)
    best = max(tried, key=S.score)
    recipe = config.recipe.model_dump()
    given = {key: recipe[key] for key in KEYS if key not in recipe["derived"]}
    all_recipe = make_recipe(len(y), **given, task=config.task)
    at_least = min(S.refit_epochs(best["kept_epochs"], best["steps_per_epoch"], all_recipe["steps_per_epoch"]),
                   all_recipe["epochs"])
    target = float(np.median(best["kept_train_loss"]))
    # no split to stop on: at least the folds' kept steps, then until the training loss is down to the folds'
    # at their kept epochs (or the recipe's ceiling); patience spanning them, the last weights kept
    # capped at REFIT_MAX_FACTOR times the folds' epochs: a training loss that never gets down to the folds'
    # (ArrowHead) would otherwise run to the recipe's ceiling
    epochs = min(all_recipe["epochs"], S.REFIT_MAX_FACTOR * at_least)
    all_recipe.update(epochs=epochs, patience=epochs, warmup_epochs=min(all_recipe["warmup_epochs"], at_least - 1),
                      min_epochs=min(all_recipe["min_epochs"], at_least - 1))
    selection.update(candidates=tried, folds=k, refit_epochs=at_least, refit_loss_target=target)
    final = _with_candidate(config, pooled, best["frame"], best["augment_strength"])
    final = record_of({**final.to_json(), "recipe": all_recipe, "epochs": epochs, "patience": epochs,
                       "batch_size": all_recipe["batch_size"], "lr": all_recipe["lr"], "selection": selection},
                      in_progress=True)
    if progress:
        print(f"edgernn: chosen by {k}-fold cross-validation: frame {best['frame']}, augmentation strength "
              f"{best['augment_strength']:g} (accuracy {best['val_accuracy']:.1%}); training on all "
              f"{len(y)} rows for at least {at_least} epochs, until the training loss is down to {target:.4g}",
              file=sys.stderr)
    model, history, seconds = _fit(final, pooled, progress, extra_callbacks, refit=(at_least, target))
    return (model, history, seconds + sum(t["train_seconds"] for t in tried), final, pooled,
            best["val_accuracy"])


def _val_score(model, config: RunConfig, ds) -> tuple[float, float]:
    """(accuracy, mean cross-entropy) on the validation split (NaN, inf without one)."""
    val = ds.splits.get("val")
    if val is None or not len(val):
        return float("nan"), float("inf")
    probs = model.predict(prepare_inputs(val.X, config), batch_size=256, verbose=0)
    loss = float(-np.mean(np.log(np.clip(probs[np.arange(len(val)), val.y], 1e-7, 1.0))))
    return float((probs.argmax(axis=-1) == val.y).mean()), loss


def _baselines(config: RunConfig, ds) -> dict:
    """Majority, 1-NN Euclidean and (when cheap) 1-NN DTW on the run's normalized series, before
    frame stacking: reference = training + validation rows, queries = test rows (train.baselines)."""
    parts = [ds.splits[s] for s in ("train", "val") if s in ds.splits and len(ds.splits[s])]
    ref = normalize_series(np.concatenate([p.X for p in parts]), config)
    test = normalize_series(ds.splits["test"].X, config)
    if config.normalize == "feature":
        plain = config.model_copy(update={"frame": 1, "input_norm": InputNorm(**input_norm(ref))})
        ref, test = to_model_inputs(ref, plain), to_model_inputs(test, plain)
    return nn_baselines(ref, np.concatenate([p.y for p in parts]), test, ds.splits["test"].y)


def _feature_options(task: str, arithmetic: str, kind: str = D.TRAIN_FEATURES) -> dict:
    """Loader options for a non-default front end (JSON, stored in config.json)."""
    if arithmetic not in ("float", "fixed"):
        raise UserError(f"unknown feature arithmetic {arithmetic!r} (float or fixed)")
    if kind not in ("mfcc", "embedding"):
        raise UserError(f"unknown features {kind!r} (mfcc or embedding)")
    if arithmetic == "float" and kind == "mfcc":
        return {}
    if task != "kws":
        raise UserError("--feature-arithmetic and --features are for --task kws (audio features)")
    from edgernn.features.config import FeatureConfig, embedding_config

    if kind == "embedding":
        if arithmetic != "float":
            raise UserError("--features embedding runs a float ONNX model: it has no --feature-arithmetic fixed")
        from edgernn.wheels import wheel_path

        wheel_path("openwakeword")  # a missing or wrong wheel fails before any data is read
        return {"features": embedding_config().to_dict()}
    return {"features": FeatureConfig(arithmetic=arithmetic).to_dict()}
def _kws_data_options(task, data, keywords, holdout_engine, augment) -> dict:
    """Loader options of a KWS folder, recorded in config.json so every later step loads the same."""
    from edgernn.data import detect_task

    kws_folder = task == "kws" and detect_task(data) == "kws"
    if not kws_folder:
        if keywords is not None or holdout_engine is not None:
            raise UserError("--keywords and --holdout-engine need --task kws and a folder of word clips")
        return {}
    from edgernn.data.augment import check_augment
    from edgernn.data.synth_kws import parse_keywords

    opts: dict = {"keywords": list(parse_keywords(keywords)) if keywords is not None else None}
    if holdout_engine is not None:
        opts["holdout_engine"] = holdout_engine
    if augment is not False:
        opts["augment"] = check_augment(augment if isinstance(augment, dict) else None)
    if opts["keywords"] is None:
        from edgernn.data.speech_commands import default_keywords

        opts["keywords"] = list(default_keywords(Path(data)))
    return opts


def _training_batches(keras, X, y, config: RunConfig):
    """SpecAugment masks drawn anew for every batch of every epoch (seeded by epoch and batch)."""
    from edgernn.data.augment import spec_mask

    options, seed = config.augment.model_dump(exclude_none=True), config.seed

    def masked(idx, epoch, i):
        return spec_mask(X[idx], np.random.default_rng([seed, epoch, i]), options), y[idx]

    return _epoch_batches(keras, len(X), seed, config.batch_size, masked)


def _epoch_batches(keras, n: int, seed: int, batch: int, make_batch):
    """A keras Sequence over ``n`` samples in batches of ``batch``, in an order drawn anew each epoch
    (seeded by epoch); ``make_batch(indices, epoch, i)`` builds batch ``i`` (augmentation drawn per batch)."""

    class Batches(keras.utils.Sequence):
        def __init__(self):
            super().__init__()
            self.epoch = 0
            self.order = np.random.default_rng([seed, 0]).permutation(n)

        def __len__(self):
            return (n + batch - 1) // batch

        def __getitem__(self, i):
            return make_batch(self.order[i * batch:(i + 1) * batch], self.epoch, i)

        def on_epoch_end(self):
            self.epoch += 1
            self.order = np.random.default_rng([seed, self.epoch]).permutation(n)

    return Batches()


# Masked batches reach TensorFlow in chunks of this many batches: one Python call per chunk instead of
# one per batch (docs/notes/2026-12-08-demo-speed-2.md); the chunk is cut back into the same batches.
CHUNK_BATCHES = 32


def _batch_dataset(batches, steps: int, features: int, batch_size: int, targets: np.ndarray | None = None,
                   chunk: int = CHUNK_BATCHES):
    """The masked batches as a tf.data pipeline with the window's static shape, made ahead.

    Keras would wrap the Sequence with unknown shapes ([None, None, None]), which an unrolled
    recurrent layer cannot take. The batches are made in NumPy ``chunk`` at a time and handed to
    TensorFlow as one array (a Python call per batch cost ~10% of a KWS training step), then cut
    back into the same batches in the same order; the next chunk is made while the current one
    trains (prefetch). Each pass over the dataset is one epoch of the Sequence, in its order.
    """
    from edgernn.tf import load

    tf, _ = load()

    passes = []

    def one_epoch():
        if passes:  # a new pass: the next epoch's order and masks (Keras may not finish the last pass's generator)
            batches.on_epoch_end()
        passes.append(len(passes))
        for start in range(0, len(batches), chunk):
            made = [batches[i] for i in range(start, min(start + chunk, len(batches)))]
            yield np.concatenate([x for x, _ in made]), np.concatenate([y for _, y in made])

    # integer labels, or the rows of targets of another shape and type (distillation: train.distill)
    target = tf.TensorSpec((None,), tf.int64) if targets is None or targets.ndim == 1 else \
        tf.TensorSpec((None, *targets.shape[1:]), tf.as_dtype(targets.dtype))
    signature = (tf.TensorSpec((None, steps, features), tf.float32), target)
    chunks = tf.data.Dataset.from_generator(one_epoch, output_signature=signature).prefetch(1)
    dataset = chunks.flat_map(lambda x, y: tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size))
    return dataset.apply(tf.data.experimental.assert_cardinality(len(batches))).prefetch(2)


def _augmented_series(keras, split, config: RunConfig):
    """Series augmentation (data.series_augment) drawn anew for every batch of every epoch, seeded by
    epoch and batch, on the normalized series before frame stacking and standardization."""
    from edgernn.data.series_augment import augment_series

    X, y = normalize_series(split.X, config), split.y
    seed, batch, strength = config.seed, config.batch_size, config.augment_strength

    def augmented(idx, epoch, i):
        rng = np.random.default_rng([seed, 1, epoch, i])
        return to_model_inputs(augment_series(X[idx], y[idx], rng, strength, pool=(X, y)), config), y[idx]

    return _epoch_batches(keras, len(X), seed, batch, augmented)


def _teaching_rows(config: RunConfig, ds, data, data_options: dict, teaching, progress: bool) -> dict:
    """The distillation's extra training rows and its targets (train.distill): the teacher's soft
    targets on the labelled train and validation rows, and unlabelled real speech scored by the teacher."""
    from edgernn.features import features as compute_features
    from edgernn.train import distill as DI

    tmodel, tconfig = teaching
    d = config.distill
    splits = ["train"] + (["val"] if len(ds.splits.get("val", [])) else [])
    labels = {s: ds.splits[s].y for s in splits}
    probs = DI.teacher_probs(tmodel, tconfig, data, data_options, splits, labels)
    cfg = config.feature_params().feature_config()
    waves = DI.unlabelled_waves(Path(data), d.unlabelled_minutes, config.seed, cfg.sample_rate, cfg.clip_samples)
    if progress:
        print(f"distillation: the teacher scores {len(waves)} unlabelled 1 s clips of real speech", file=sys.stderr)
    X = compute_features(waves, cfg).astype(np.float32) if len(waves) else \
        np.zeros((0, *config.input_shape), np.float32)
    if len(waves):
        tX = compute_features(waves, tconfig.feature_params().feature_config())
        extra = tmodel.predict(prepare_inputs(tX, tconfig), batch_size=256, verbose=0)
    else:
        extra = np.zeros((0, len(config.class_names)), np.float32)
    weights = None
    if config.class_weights:
        weights = kws_class_weights(balanced_class_weights(labels["train"], len(config.class_names)),
                                    config.unknown_weight)
    soft = {s: DI.soften(p, d.temperature) for s, p in probs.items()}
    train_y = np.concatenate([labels["train"], np.zeros(len(X), np.int64)])
    train_w = np.concatenate([DI.row_weights(labels["train"], weights), np.zeros(len(X), np.float32)])
    out = {"X": X, "train": DI.targets(train_y, train_w, np.concatenate([soft["train"], DI.soften(extra, d.temperature)]))}
    if "val" in soft:
        out["val"] = DI.targets(labels["val"], np.ones(len(labels["val"]), np.float32), soft["val"])
    return out


def _fit(config: RunConfig, ds, progress: bool, extra_callbacks, taught: dict | None = None,
         refit: tuple[int, float] | None = None):
    """Train a model for the record ``config`` on ``ds``. ``refit`` = (epochs, loss): --select cv's final fit
    without a validation split: no early stopping on one; the run stops at the end of the first epoch from
    ``epochs`` on whose training loss is at most ``loss`` (or at the ceiling), keeping the last weights."""
    from edgernn.tf import load, set_seed

    _, keras = load()
    set_seed(config.seed)
    Xtr = prepare_inputs(ds.splits["train"].X, config)
    Xva = prepare_inputs(ds.splits["val"].X, config) if len(ds.splits.get("val", [])) else None
    if config.task == "anomaly":
        model = build_anomaly(config.arch, config.units, config.layers, config.input_shape, config.anomaly_model)
        model.compile(optimizer=_optimizer(keras, config), loss=_anomaly_loss(config),
                      steps_per_execution=config.recipe.steps_per_execution)
        fit_args = dict(x=Xtr, y=Xtr, validation_data=(Xva, Xva) if Xva is not None else None)
    else:
        model = build_classifier(config.arch, config.units, config.layers, config.input_shape,
                                 len(config.class_names), config.dropout, unroll=_unrolled(config))
        yva = ds.splits["val"].y if Xva is not None else None
        weights = balanced_class_weights(ds.splits["train"].y, len(config.class_names)) \
            if config.class_weights else None
        if weights and config.keywords:  # a keyword folder: _silence_, _unknown_, keywords
            weights = kws_class_weights(weights, config.unknown_weight)
        ytr = ds.splits["train"].y.astype(np.int64)
        if taught is not None:  # distillation: targets carry label, weight and soft targets (train.distill)
            from edgernn.train import distill as DI

            model.compile(optimizer=_optimizer(keras, config), metrics=[DI.accuracy()],
                          loss=DI.loss(config.distill.alpha, config.distill.temperature, len(config.class_names)),
                          steps_per_execution=config.recipe.steps_per_execution)
            Xtr = np.concatenate([Xtr, prepare_inputs(taught["X"], config)]) if len(taught["X"]) else Xtr
            ytr, yva, weights = taught["train"], taught.get("val"), None
        else:
            model.compile(optimizer=_optimizer(keras, config), metrics=["accuracy"],
                          loss=_classifier_loss(config.label_smoothing, len(config.class_names)),
                          steps_per_execution=config.recipe.steps_per_execution)
        fit_args = dict(x=Xtr, y=ytr, validation_data=(Xva, yva) if Xva is not None else None,
                        class_weight=weights)
        if config.augment is not None:
            batches = _training_batches(keras, Xtr, ytr, config)
            fit_args["x"], fit_args["y"] = _batch_dataset(batches, *config.input_shape, config.batch_size, ytr), None
        elif config.augment_strength:
            fit_args["x"], fit_args["y"] = _augmented_series(keras, ds.splits["train"], config), None
    monitor = "val_loss" if Xva is not None else "loss"
    recipe = config.recipe
    # best weights are tracked (and restored) only from min_epochs on: never the untrained first epochs
    callbacks = [keras.callbacks.EarlyStopping(monitor=monitor, patience=config.patience, restore_best_weights=True,
                                               start_from_epoch=recipe.min_epochs),
                 _progress_callback(keras, config.epochs, progress), *extra_callbacks]
    if refit is not None:
        callbacks[0] = S.loss_target_callback(keras, *refit)
    warmup_steps = recipe.warmup_epochs * recipe.steps_per_epoch
    if recipe.lr_schedule != "cosine":  # the cosine rate is computed in the graph (_optimizer)
        halve_after = max(2, config.patience // 3)
        callbacks.insert(1, plateau_callback(keras, monitor, halve_after, recipe.min_epochs, 0.0))
        if warmup_steps > 0:
            callbacks.insert(0, warmup_callback(keras, config.lr, warmup_steps))
    start = time.perf_counter()
    sequence = fit_args.get("y") is None  # an augmenting Sequence (or its dataset) batches and shuffles itself
    batching = {} if sequence else {"batch_size": config.batch_size}
    hist = model.fit(**fit_args, epochs=config.epochs, shuffle=not sequence, verbose=0, callbacks=callbacks,
                     **batching)
    history = {k: [float(v) for v in vals] for k, vals in hist.history.items() if k != "lr"}
    return _rolled(model, config), history, time.perf_counter() - start


def _unrolled(config: RunConfig) -> bool:
    """Train an unrolled copy? Keyword spotting only (fixed, short windows; see UNROLL_MAX_STEPS)."""
    return config.task == "kws" and config.arch not in HEADS and config.input_shape[0] <= UNROLL_MAX_STEPS


def _rolled(model, config: RunConfig):
    """The trained weights in the model as built without unrolling: the one saved, converted and exported."""
    if not _unrolled(config):
        return model
    rolled = build_classifier(config.arch, config.units, config.layers, config.input_shape,
                              len(config.class_names), config.dropout)
    rolled.set_weights(model.get_weights())
    return rolled


def _classifier_loss(label_smoothing: float, num_classes: int):
    """Sparse cross-entropy; with smoothing, the one-hot target keeps 1 - s and spreads s over all classes
    (tf_keras's sparse loss has no smoothing, so the integer labels are one-hot encoded here)."""
    if not label_smoothing:
        return "sparse_categorical_crossentropy"
    from edgernn.tf import load

    tf, keras = load()

    def smoothed_crossentropy(y_true, y_pred):
        onehot = tf.one_hot(tf.cast(tf.reshape(y_true, [-1]), tf.int32), num_classes)
        return keras.losses.categorical_crossentropy(onehot, y_pred, label_smoothing=label_smoothing)

    return smoothed_crossentropy


def _optimizer(keras, config: RunConfig):
    recipe, clip = config.recipe, config.recipe.clipnorm
    lr = config.lr
    if recipe.lr_schedule == "cosine":
        lr = cosine_schedule(keras, config.lr, recipe.warmup_epochs * recipe.steps_per_epoch,
                             config.epochs * recipe.steps_per_epoch)
    return keras.optimizers.Adam(lr, global_clipnorm=clip if clip > 0 else None)


def _guard(model, config: RunConfig, ds, history: dict, metrics: dict, cv_acc: float | None = None) -> dict:
    recipe = config.recipe.model_dump()
    if config.task == "anomaly":
        return G.anomaly_guard(history, recipe, metrics.get("roc_auc")), None
    val = ds.splits.get("val")
    val_acc = None
    if cv_acc is not None:  # cross-validated: every training row was held out once
        val, val_acc = ds.splits["train"], cv_acc
    elif val is not None and len(val):
        probs = model.predict(prepare_inputs(val.X, config), batch_size=256, verbose=0)
        val_acc = float((probs.argmax(axis=-1) == val.y).mean())
    return G.classification_guard(history, recipe, val.y if val is not None else [], val_acc,
                                  ds.splits["test"].y, metrics["accuracy"], len(config.class_names),
                                  metrics.get("baselines")), val_acc


def write_series_scores(path: Path, split, sample_scores: np.ndarray) -> None:
    """row (in the source series), label, score: the test part's per-sample anomaly scores."""
    lines = ["row,label,score"] + [f"{split.row0 + i},{int(lab)},{'' if not np.isfinite(v) else f'{v:.6g}'}"
                                   for i, (lab, v) in enumerate(zip(split.series_labels, sample_scores))]
    io.atomic_write_text(path, "\n".join(lines) + "\n")


def _anomaly_loss(config: RunConfig):
    from edgernn.tf import load

    tf, _ = load()
    if config.anomaly_model == "predictor":
        def next_step_mse(x, y_pred):  # output[t] predicts input[t + 1]
            return tf.reduce_mean(tf.square(y_pred[:, :-1, :] - x[:, 1:, :]))
        return next_step_mse
    return "mse"


def _evaluate(model, config: RunConfig, ds, folder: Path) -> dict:
    """Test metrics; for anomaly the threshold comes from validation normals."""
    test = ds.splits["test"]
    Xte = prepare_inputs(test.X, config)
    out = model.predict(Xte, batch_size=256, verbose=0)
    if config.task != "anomaly":
        m = M.classification_metrics(test.y, out, config.class_names)
        plots.confusion_matrix(m["confusion_matrix"], config.class_names, folder / "confusion_matrix.png",
                               f"test accuracy {m['accuracy']:.1%}")
        return m
    val = ds.splits["val"] if len(ds.splits.get("val", [])) else ds.splits["train"]
    Xva = prepare_inputs(val.X[val.y == 0], config)
    val_out = model.predict(Xva, batch_size=256, verbose=0)
    threshold = M.choose_threshold(M.anomaly_scores(val_out, Xva, config.anomaly_model))
    scores = M.anomaly_scores(out, Xte, config.anomaly_model)
    m = M.anomaly_metrics(test.y, scores, threshold)
    m["notes"] = ds.meta.get("warnings", []) + M.anomaly_notes(test.y, len(Xva))
    series = M.series_report(out, Xte, config.anomaly_model, test, scores, threshold)
    if series:
        m["events"] = series["events"]
        write_series_scores(folder / "series_scores.csv", test, series["sample_scores"])
    for note in m["notes"]:
        print(f"edgernn: warning: {note}", file=sys.stderr)
    fpr, tpr = M.roc_curve(test.y, scores)
    plots.anomaly_scores(test.y, scores, threshold, fpr, tpr, m["roc_auc"], folder / "anomaly_scores.png",
                         f"{config.arch.upper()}-{config.units} {config.anomaly_model}")
    plots.confusion_matrix(m["confusion_matrix"], ["normal", "anomaly"], folder / "confusion_matrix.png",
                           f"ROC-AUC {m['roc_auc']:.3f}")
    return m
