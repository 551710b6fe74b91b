"""``edgernn prune``: magnitude pruning (tfmot) or structured removal of whole hidden units.

Magnitude: tensorflow-model-optimization's prune_low_magnitude on every GRU/LSTM/SimpleRNN (kernel and
recurrent kernel) and Dense layer, with a PolynomialDecay schedule from 0 to the target
sparsity over the first 60% of fine-tuning steps (the rest recovers). The schedule's ``frequency`` is set from
the step count (its default, 100, prunes nothing on short fine-tunes). Zeros only pay off
where storage is compressed or kernels skip zeros: the report gives gzip sizes.

Structured (``--structured``): ranks the hidden units of each recurrent layer by the L2 norm
of all their weights (incoming columns of every gate, their recurrent row, their outgoing
rows in the next layer), keeps the top (1 - sparsity), slices every gate block consistently
and builds a genuinely smaller dense model, then fine-tunes it. No library does this for RNNs.
"""
from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import numpy as np

from edgernn import defaults as D
from edgernn import io
from edgernn.errors import UserError
from edgernn.models import build_from_config, count_macs, count_params
from edgernn.train import metrics as M
from edgernn.records import RunConfig, record_of, write_config, write_metrics
from edgernn.train.run import check_run, load_data_for_run, load_run, prepare_inputs

RECURRENT = ("GRU", "LSTM", "SimpleRNN")


def _gates(layer) -> int:
    return {"GRU": 3, "LSTM": 4, "SimpleRNN": 1}[type(layer).__name__]


def sparsity_report(model) -> dict[str, float]:
    """Fraction of exact zeros in each weight matrix (biases excluded)."""
    out = {}
    for layer in model.layers:
        for w in layer.weights:
            if "bias" not in w.name:
                v = w.numpy()
                out[w.name] = float((v == 0).mean())
    return out


def size_report(model) -> dict[str, int]:
    weights = [w.astype(np.float32) for w in model.get_weights()]
    raw = b"".join(w.tobytes() for w in weights)
    return {"float32_bytes": len(raw), "float32_gzip_bytes": len(gzip.compress(raw, 9)),
            "nonzero_weights": int(sum(int(np.count_nonzero(w)) for w in weights))}


def _test_metric(model, config, ds) -> float:
    test = ds.splits["test"]
    X = prepare_inputs(test.X, config)
    out = model.predict(X, batch_size=256, verbose=0)
    if config.task == "anomaly":
        scores = M.anomaly_scores(out, X, config.anomaly_model)
        return M.anomaly_metrics(test.y, scores, config.threshold)["roc_auc"]
    return M.classification_metrics(test.y, out, config.class_names)["accuracy"]


def _fit(model, config, ds, epochs: int, callbacks=()):
    from edgernn.tf import load, set_seed

    _, keras = load()
    set_seed(config.seed)
    Xtr = prepare_inputs(ds.splits["train"].X, config)
    if config.task == "anomaly":
        from edgernn.train.loop import _anomaly_loss

        model.compile(optimizer=keras.optimizers.Adam(config.lr / 3), loss=_anomaly_loss(config))
        y = Xtr
    else:
        model.compile(optimizer=keras.optimizers.Adam(config.lr / 3), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        y = ds.splits["train"].y
    model.fit(Xtr, y, epochs=epochs, batch_size=config.batch_size, shuffle=True, verbose=0,
              callbacks=list(callbacks))
    return len(Xtr)


def magnitude_prune(model, config, ds, sparsity: float, epochs: int):
    import tensorflow_model_optimization as tfmot

    steps = int(np.ceil(len(ds.splits["train"]) / config.batch_size)) * epochs
    schedule = tfmot.sparsity.keras.PolynomialDecay(
        initial_sparsity=0.0, final_sparsity=sparsity, begin_step=0, end_step=max(1, int(steps * 0.6)),
        frequency=max(1, steps // 40))
    pruned = tfmot.sparsity.keras.prune_low_magnitude(model, pruning_schedule=schedule)
    _fit(pruned, config, ds, epochs, [tfmot.sparsity.keras.UpdatePruningStep()])
    return tfmot.sparsity.keras.strip_pruning(pruned)


def unit_importance(model) -> list[np.ndarray]:
    """L2 norm of every weight touching each hidden unit, per recurrent layer."""
    layers = model.layers
    scores = []
    for i, layer in enumerate(layers):
        if type(layer).__name__ not in RECURRENT:
            continue
        kernel, recurrent, bias = layer.get_weights()
        g, units = _gates(layer), recurrent.shape[0]
        cols = lambda w: w.reshape(*w.shape[:-1], g, units)  # noqa: E731  gate blocks
        s = (cols(kernel) ** 2).sum(axis=(0, 1)) + (cols(recurrent) ** 2).sum(axis=(0, 1)) + (recurrent ** 2).sum(1)
        nxt = next(l for l in layers[i + 1:] if l.get_weights())
        s = s + (nxt.get_weights()[0] ** 2).sum(axis=1)
        scores.append(np.sqrt(s))
    return scores


def slice_units(model, config: RunConfig, keep: list[np.ndarray]):
    """A smaller model holding only the ``keep`` units of each recurrent layer, weights sliced."""
    new_units = len(keep[0])
    if any(len(k) != new_units for k in keep):
        raise ValueError("every recurrent layer must keep the same number of units")
    small_config = config.model_copy(update={"units": new_units})
    small = build_from_config(small_config)
    r = 0
    prev_keep = None
    for old, new in zip(model.layers, small.layers):
        w = old.get_weights()
        if not w:
            continue
        if type(old).__name__ in RECURRENT:
            kernel, recurrent, bias = w
            g, units = _gates(old), recurrent.shape[0]
            idx = np.concatenate([k * units + keep[r] for k in range(g)])  # same units in every gate block
            kernel = kernel[prev_keep] if prev_keep is not None else kernel
            new.set_weights([kernel[:, idx], recurrent[keep[r]][:, idx], bias[..., idx]])
            prev_keep, r = keep[r], r + 1
        else:  # the layer after the last recurrent one reads only the kept units
            kernel, *rest = w
            new.set_weights([kernel[prev_keep] if prev_keep is not None else kernel, *rest])
            prev_keep = None
    return small, small_config


def structured_prune(model, config, ds, sparsity: float, epochs: int):
    keep_n = max(1, int(round(config.units * (1 - sparsity))))
    keep = [np.sort(np.argsort(-s)[:keep_n]) for s in unit_importance(model)]
    small, small_config = slice_units(model, config, keep)
    if epochs:
        _fit(small, small_config, ds, epochs)
    return small, small_config


def prune(run: str | Path, sparsity: float = D.PRUNE_SPARSITY, structured: bool = False, epochs: int = D.PRUNE_EPOCHS,
          out: str | Path | None = None, overwrite: bool = False) -> Path:
    """Write a pruned run folder (default RUN-pruned or RUN-structured); returns its path."""
    if not 0.0 < sparsity < 1.0:
        raise UserError(f"--sparsity must be between 0 and 1 (exclusive), got {sparsity}")
    if epochs < 0:
        raise UserError("--epochs must be >= 0")
    run = check_run(run)
    model, config = load_run(run)
    if config.task == "anomaly" and structured and config.anomaly_model == "autoencoder":
        raise UserError("structured pruning of autoencoders is not supported (use magnitude pruning)")
    out = Path(out) if out else run.with_name(f"{run.name}-{'structured' if structured else 'pruned'}")
    io.check_out(out, "folder", overwrite=overwrite, replace=True,
                 inputs=[run / "model.keras", run / "config.json"])
    ds = load_data_for_run(config)
    before = {"metric": _test_metric(model, config, ds), **size_report(model)}
    if structured:
        new, new_config = structured_prune(model, config, ds, sparsity, epochs)
    else:
        new, new_config = magnitude_prune(model, config, ds, sparsity, epochs), config
    new_config = record_of({**new_config.to_json(), "params": count_params(new_config),
                            "macs": count_macs(new_config), "float32_bytes": int(new.count_params() * 4),
                            "pruned_from": str(run),
                            "pruning": {"structured": structured, "sparsity": sparsity, "epochs": epochs}})
    with io.atomic_dir(out, overwrite=overwrite) as tmp:
        new.save(tmp / "model.keras")
        write_config(tmp / "config.json", new_config)
        from edgernn.train.loop import _evaluate

        metrics = _evaluate(new, new_config, ds, tmp)
        write_metrics(tmp / "metrics.json", metrics)
        after = {"metric": M.main_metric(metrics)[1], **size_report(new)}
        name = M.main_metric(metrics)[0]
        report = {"metric_name": name, "before": before, "after": after,
                  "metric_change_points": round(100 * (after["metric"] - before["metric"]), 3),
                  "sparsity_per_tensor": sparsity_report(new), "units": [config.units, new_config.units]}
        io.write_json(tmp / "prune.json", io.record("prune", {"run": str(run)},
                                                   {"sparsity": sparsity, "structured": structured, "epochs": epochs},
                                                   {"run": str(out)}, report))
        for extra in ("history.json", "training_curve.png"):
            if (run / extra).is_file():
                shutil.copy(run / extra, tmp / f"original_{extra}")
    return out
