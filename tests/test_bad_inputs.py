"""The bad-input suite (issue #10): every command fed bad data, options, model files, run folders and targets.

Each case must end with exit status 2 and exactly one ``edgernn: error:`` line that names the problem
(the expected fragment), no traceback, no hang, and nothing written: the whole test folder is
snapshotted before and after every case. Cases run in-process (CliRunner), sharing one set of
fixture files, so the suite takes seconds per command, not minutes. ``test_bad_input_suite`` prints
the totals: cases, clean errors, tracebacks, silent crashes, hangs.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import struct
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from edgernn import api
from edgernn.cli import main

HANG_SECONDS = 60


# --- fixture files ----------------------------------------------------------------------------------------

def _npz(path: Path, **arrays) -> None:
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def _wav(path: Path, rate: int = 16000, frames: int = 16000, channels: int = 1, bits: int = 16) -> None:
    data = b"\0" * (frames * channels * bits // 8)
    fmt = struct.pack("<IHHIIHH", 16, 1, channels, rate, rate * channels * bits // 8, channels * bits // 8, bits)
    path.write_bytes(b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVE" + b"fmt " + fmt
                     + b"data" + struct.pack("<I", len(data)) + data)


def _kws_folder(root: Path) -> Path:
    """A minimal valid Speech Commands layout: one silent clip per word, one noise file, split lists."""
    from edgernn.data.synth_kws import CORE_WORDS

    root.mkdir(parents=True)
    for i, w in enumerate(CORE_WORDS):
        (root / w).mkdir()
        for k in range(3):
            _wav(root / w / f"s{k}_nohash_0.wav")
    (root / "_background_noise_").mkdir()
    _wav(root / "_background_noise_" / "noise.wav", frames=40000)
    (root / "validation_list.txt").write_text("".join(f"{w}/s1_nohash_0.wav\n" for w in CORE_WORDS))
    (root / "testing_list.txt").write_text("".join(f"{w}/s2_nohash_0.wav\n" for w in CORE_WORDS))
    return root


def _csv(path: Path, rows: list[str]) -> Path:
    path.write_text("\n".join(rows) + "\n")
    return path


def _good_csv_rows(n: int = 200) -> list[str]:
    return ["time,a,b,label"] + [f"{i / 100:.2f},{np.sin(i / 5):.4f},{np.cos(i / 7):.4f},0" for i in range(n)]


def _mutated_run(world: Path, name: str, change) -> Path:
    """A copy of the GRU run whose config.json is changed by ``change(config) -> config or raw bytes``."""
    run = world / "runs" / name
    shutil.copytree(world / "runs" / "gru", run)
    config = json.loads((run / "config.json").read_text())
    new = change(config)
    if isinstance(new, bytes):
        (run / "config.json").write_bytes(new)
    else:
        (run / "config.json").write_text(json.dumps(new))
    return run


def _with(key, value):
    def change(c):
        c = dict(c)
        if value is _DROP:
            c.pop(key)
        else:
            c[key] = value
        return c
    return change


_DROP = object()


@pytest.fixture(scope="module")
def world(tiny_runs, tmp_path_factory):
    """Every file the cases point at, built once. Returns {name: path} for the case templates."""
    w = tmp_path_factory.mktemp("bad_inputs")
    f: dict[str, Path] = {"w": w}
    runs = w / "runs"
    runs.mkdir()
    shutil.copytree(tiny_runs["gru"], runs / "gru", ignore=shutil.ignore_patterns("*.tflite", "quantize_*", "*.onnx",
                                                                                 "firmware-*", "eval_*", "export_*"))
    f["run"] = runs / "gru"
    f["tfl"] = api.quantize(f["run"], mode="int8", calibration_samples=20)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 12, 4)).astype(np.float32)
    y = np.arange(30) % 3

    # files of the wrong kind
    f["file"] = w / "plain.txt"
    f["file"].write_text("hello\n")
    f["empty"] = w / "empty.npz"
    f["empty"].write_bytes(b"")
    f["garbage_npz"] = w / "garbage.npz"
    f["garbage_npz"].write_bytes(b"PK\x03\x04 this is not a zip")
    for name in ("fifo.npz", "fifo.csv", "fifo.tflite", "fifo.wav"):
        os.mkfifo(w / name)
        f[name.replace(".", "_")] = w / name
    (w / "afolder").mkdir()
    f["folder"] = w / "afolder"
    f["missing"] = w / "does-not-exist"

    # npz datasets
    npz_cases = {
        "no_x": dict(y=y), "no_y": dict(X=X), "x2d": dict(X=X[:, :, 0], y=y),
        "n0": dict(X=X[:0], y=y[:0]), "t0": dict(X=X[:, :0], y=y), "f0": dict(X=X[:, :, :0], y=y),
        "ylen": dict(X=X, y=y[:-1]), "y2d": dict(X=X, y=y[:, None]), "yfrac": dict(X=X, y=y + 0.5),
        "yneg": dict(X=X, y=y - 1), "ybig": dict(X=X, y=np.r_[y[:-1], 10**12]),
        "ynan": dict(X=X, y=np.r_[y[:-1].astype(float), np.nan]), "ybool": dict(X=X, y=y > 0),
        "xnan": dict(X=np.where(np.arange(12)[None, :, None] == 3, np.nan, X), y=y),
        "xinf": dict(X=np.full_like(X, np.inf), y=y), "xbig": dict(X=np.full(X.shape, 1e300), y=y),
        "xstr": dict(X=np.full(X.shape, "a"), y=y), "oneclass": dict(X=X, y=np.zeros(30, int)),
        "badsplit": dict(X=X, y=y, split=np.array(["train", "holdout"] * 15)),
        "splitlen": dict(X=X, y=y, split=np.array(["train"] * 10)),
        "notrain2": dict(X=X, y=y, split=np.where(y == 2, "test", "train")),
        "notest": dict(X=X, y=y, split=np.array(["train"] * 30)),
        "fewnames": dict(X=X, y=y, class_names=np.array(["a", "b"])),
        "names2d": dict(X=X, y=y, class_names=np.array([["a", "b", "c"]])),
        "wrongshape": dict(X=rng.normal(size=(30, 7, 4)).astype(np.float32), y=y),
        "len_shape": dict(X=X, y=y, lengths=np.full(5, 3)), "len_big": dict(X=X, y=y, lengths=np.full(30, 13)),
        "len_zero": dict(X=X, y=y, lengths=np.zeros(30, int)),
    }
    for name, arrays in npz_cases.items():
        _npz(w / f"{name}.npz", **arrays)
        f[f"npz_{name}"] = w / f"{name}.npz"
    with open(w / "objects.npz", "wb") as fh:
        np.savez(fh, X=np.array([{"a": 1}] * 3, dtype=object), y=np.array([0, 1, 0]))
    f["npz_objects"] = w / "objects.npz"
    bomb = w / "bomb.npz"  # unpacks to 64 MB; the case lowers the bound to 8 MB
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as z, z.open("X.npy", "w") as fh:
        np.save(fh, np.zeros((1 << 22, 2, 2), np.float32))
    f["npz_bomb"] = bomb

    # CSV series
    good = _good_csv_rows()
    csvs = {
        "header_only": ["time,a,label"], "numeric_header": ["1,2,3", "4,5,6"],
        "no_channels": ["time,label,note"] + [f"{i},0,x" for i in range(100)],
        "ragged": good[:50] + ["0.5,1.0"] + good[50:],
        "empty_first": [good[0], "0.00,,0.5,0"] + good[2:], "na_first": [good[0], "0.00,n/a,0.5,0"] + good[2:],
        "nan_cell": good[:30] + ["0.29,nan,0.1,0"] + good[31:], "inf_cell": good[:30] + ["0.29,inf,0.1,0"] + good[31:],
        "overflow": good[:30] + ["0.29,1e39,0.1,0"] + good[31:], "short": good[:20],
        "all_anomalous": [r[:-1] + "1" if i else r for i, r in enumerate(_good_csv_rows(400))],
        "bad_label": good[:30] + ["0.29,0.1,0.1,yes"] + good[31:],
    }
    for name, rows in csvs.items():
        f[f"csv_{name}"] = _csv(w / f"{name}.csv", rows)
    f["csv_good"] = _csv(w / "good.csv", _good_csv_rows(400))
    f["csv_empty"] = w / "empty.csv"
    f["csv_empty"].write_text("")
    f["csv_binary"] = w / "binary.csv"
    f["csv_binary"].write_bytes(b"time,a\n\xff\xfe\x00\x01,2\n")
    (w / "csv_notest").mkdir()
    _csv(w / "csv_notest" / "train.csv", good)
    f["csvdir_notest"] = w / "csv_notest"
    (w / "csv_channels").mkdir()
    _csv(w / "csv_channels" / "train.csv", good)
    _csv(w / "csv_channels" / "test.csv", ["time,a,c,label"] + good[1:])
    f["csvdir_channels"] = w / "csv_channels"

    # Speech Commands folders
    f["kws_ok"] = _kws_folder(w / "kws" / "ok")
    kws_variants = {}
    for name in ("empty", "missing_word", "no_wavs", "no_lists", "corrupt_wav", "rate1", "fifo_wav", "bad_noise",
                 "long_wav", "zero_wav", "nine_channels", "no_test"):
        kws_variants[name] = _kws_folder(w / "kws" / name)
    for p in kws_variants["empty"].iterdir():
        shutil.rmtree(p) if p.is_dir() else p.unlink()
    shutil.rmtree(kws_variants["missing_word"] / "stop")
    for p in (kws_variants["no_wavs"] / "go").iterdir():
        p.unlink()
    (kws_variants["no_lists"] / "testing_list.txt").unlink()
    (kws_variants["corrupt_wav"] / "yes" / "s0_nohash_0.wav").write_bytes(b"RIFF....WAVEjunkjunk")
    _wav(kws_variants["rate1"] / "yes" / "s0_nohash_0.wav", rate=1, frames=20000)
    (kws_variants["fifo_wav"] / "yes" / "s0_nohash_0.wav").unlink()
    os.mkfifo(kws_variants["fifo_wav"] / "yes" / "s0_nohash_0.wav")
    (kws_variants["bad_noise"] / "_background_noise_" / "noise.wav").write_bytes(b"RIFF\0\0\0\0WAVEnope")
    _wav(kws_variants["long_wav"] / "no" / "s0_nohash_0.wav", rate=4000, frames=4000 * 700)
    _wav(kws_variants["zero_wav"] / "up" / "s0_nohash_0.wav", frames=0)
    _wav(kws_variants["nine_channels"] / "up" / "s0_nohash_0.wav", channels=9, frames=1000)
    (kws_variants["no_test"] / "testing_list.txt").write_text("")
    for name, path in kws_variants.items():
        f[f"kws_{name}"] = path

    # model files
    data = f["tfl"].read_bytes()
    for name, content in {"trunc": data[: len(data) * 6 // 10], "hdr": data[:12], "notfl": os.urandom(2048),
                          "zeros": b"\0" * 4096}.items():
        folder = w / f"model_{name}"
        folder.mkdir()
        shutil.copy(f["run"] / "config.json", folder / "config.json")
        (folder / "model_int8.tflite").write_bytes(content)
        f[f"tfl_{name}"] = folder / "model_int8.tflite"
    f["tfl_orphan"] = w / "orphan.tflite"
    f["tfl_orphan"].write_bytes(data)
    f["tfl_crash"] = _crashing_model(f["tfl"], w / "model_crash")
    f["onnx_bad"] = f["run"].parent / "gru" / "bad.onnx"
    f["onnx_bad"].write_bytes(b"not an onnx model")
    f["elf_text"] = w / "fw.elf"
    f["elf_text"].write_text("not firmware\n")
    f["elf_x86"] = w / "x86.elf"
    shutil.copy("/bin/true", f["elf_x86"])
    f["artifact_txt"] = w / "model.txt"
    f["artifact_txt"].write_text("x")

    # run folders
    from edgernn.tf import load

    _, keras = load()
    h5_run = runs / "h5"
    shutil.copytree(f["run"], h5_run, ignore=shutil.ignore_patterns("*.tflite", "*.json.bak"))
    m = keras.Sequential([keras.Input((12, 4)), keras.layers.GRU(2), keras.layers.Dense(3)])
    m.save(w / "m.h5", save_format="h5")
    shutil.copy(w / "m.h5", h5_run / "model.keras")
    f["run_h5"] = h5_run
    junk_run = runs / "junkmodel"
    shutil.copytree(f["run"], junk_run, ignore=shutil.ignore_patterns("*.tflite"))
    (junk_run / "model.keras").write_text("just text")
    f["run_junkmodel"] = junk_run
    zipjunk = runs / "zipjunk"
    shutil.copytree(f["run"], zipjunk, ignore=shutil.ignore_patterns("*.tflite"))
    with zipfile.ZipFile(zipjunk / "model.keras", "w") as z:
        z.writestr("config.json", "{not json")
    f["run_zipjunk"] = zipjunk
    nomodel = runs / "nomodel"
    shutil.copytree(f["run"], nomodel, ignore=shutil.ignore_patterns("*.tflite", "model.keras"))
    f["run_nomodel"] = nomodel
    mutations = {
        "notjson": lambda c: b"{ not json", "list": lambda c: [1, 2], "notutf8": lambda c: b"\xff\xfe{}",
        "deep": lambda c: b"[" * 100000 + b"]" * 100000,
        "units_str": _with("units", "8"), "units_neg": _with("units", -8), "units_bool": _with("units", True),
        "no_task": _with("task", _DROP), "task_bad": _with("task", "regress"), "arch_bad": _with("arch", "../gru"),
        "classes_str": _with("class_names", "abc"), "classes_one": _with("class_names", ["a"]),
        "shape_bad": _with("input_shape", [12]), "shape_neg": _with("input_shape", [12, -4]),
        "norm_len": lambda c: dict(c, input_norm={"mean": [0.0], "std": [1.0]}),
        "norm_zero": lambda c: dict(c, input_norm={"mean": c["input_norm"]["mean"], "std": [0.0] * 4}),
        "norm_missing": _with("input_norm", _DROP), "data_num": _with("data", 5),
        "dropout_bad": _with("dropout", 5), "anomaly_no_threshold": _with("task", "anomaly"),
        "layers_huge": _with("layers", 10**6),
    }
    for name, change in mutations.items():
        f[f"run_{name}"] = _mutated_run(w, name, change)
        shutil.copy(f["tfl"], f[f"run_{name}"] / "model_int8.tflite")
    fifo_run = runs / "fifo_config"
    shutil.copytree(f["run"], fifo_run, ignore=shutil.ignore_patterns("config.json", "*.tflite"))
    os.mkfifo(fifo_run / "config.json")
    f["run_fifo_config"] = fifo_run

    # bench folders for report
    (w / "bench_empty").mkdir()
    f["bench_empty"] = w / "bench_empty"
    (w / "bench_badjson").mkdir()
    (w / "bench_badjson" / "results.json").write_text("[1, 2")
    f["bench_badjson"] = w / "bench_badjson"
    (w / "bench_wrong").mkdir()
    (w / "bench_wrong" / "results.json").write_text(json.dumps({"hello": "world"}))
    f["bench_wrong"] = w / "bench_wrong"
    (w / "keep").mkdir()
    (w / "keep" / "existing.txt").write_text("x")
    f["exists"] = w / "keep"
    f["under_file"] = f["file"] / "sub"
    return f


def _crashing_model(model: Path, folder: Path) -> Path:
    """The int8 GRU with one operator reading tensor 500 of 12: TFLite Micro segfaults on it."""
    from test_hardening import last_op_reads_tensor_500

    folder.mkdir()
    shutil.copy(model.parent / "config.json", folder / "config.json")
    (folder / "model_int8.tflite").write_bytes(last_op_reads_tensor_500(model.read_bytes()))
    return folder / "model_int8.tflite"


# --- the table: (arguments with {placeholders}, fragment the error line must contain) ------------------------

CASES = [
    # data synth-kws
    ("data synth-kws {w}/o --per-word 0", "--per-word"),
    ("data synth-kws {w}/o --per-word -5", "--per-word"),
    ("data synth-kws {w}/o --per-word 10000000", "--per-word"),
    ("data synth-kws {w}/o --workers 0", "--workers"),
    ("data synth-kws {w}/o --unknown-total -1", "--unknown-total"),
    ("data synth-kws {file}", "not a folder"),
    ("data synth-kws {under_file}", "not a folder"),
    ("data synth-kws {exists}", "already exists"),
    ("data synth-kws {w}/o --per-word many", "Invalid value for '--per-word'"),
    ("data synth-kws", "Missing argument"),
    # data synth-anomaly
    ("data synth-anomaly {w}/o --train-seconds nan", "--train-seconds"),
    ("data synth-anomaly {w}/o --train-seconds inf", "--train-seconds"),
    ("data synth-anomaly {w}/o --val-seconds 1", "--val-seconds"),
    ("data synth-anomaly {w}/o --test-seconds -5", "--test-seconds"),
    ("data synth-anomaly {w}/o --train-seconds 1e12", "--train-seconds"),
    ("data synth-anomaly {file}", "not a folder"),
    ("data synth-anomaly {exists}", "already exists"),
    ("data synth-anomaly {w}/o --train-seconds long", "Invalid value for '--train-seconds'"),
    # data info: paths and file kinds
    ("data info {missing}", "no such file"),
    ("data info {fifo_npz}", "not a regular file"),
    ("data info {fifo_csv}", "not a regular file"),
    ("data info {file}", "unknown data format"),
    ("data info {empty}", "not a readable .npz"),
    ("data info {garbage_npz}", "not a readable"),
    ("data info {npz_bomb}", "unpacks to"),
    ("data info {npz_objects}", "holds Python objects"),
    # npz contents
    ("data info {npz_no_x}", "missing array 'X'"),
    ("data info {npz_no_y}", "missing array 'y'"),
    ("data info {npz_x2d}", "X must be 3-D"),
    ("data info {npz_n0}", "must all be >= 1"),
    ("data info {npz_t0}", "must all be >= 1"),
    ("data info {npz_f0}", "must all be >= 1"),
    ("data info {npz_ylen}", "one label per row"),
    ("data info {npz_y2d}", "y must be 1-D"),
    ("data info {npz_yfrac}", "integer class labels"),
    ("data info {npz_yneg}", "negative labels"),
    ("data info {npz_ybig}", "label value"),
    ("data info {npz_ynan}", "integer class labels"),
    ("data info {npz_ybool}", "integer class labels"),
    ("data info {npz_xnan}", "NaN steps inside the sequence"),
    ("data info {npz_xinf}", "X contains inf"),
    ("data info {npz_xbig}", "float32 range"),
    ("data info {npz_xstr}", "X must be numeric"),
    ("data info {npz_oneclass}", "at least 2 classes"),
    ("data info {npz_badsplit}", "unknown split name"),
    ("data info {npz_splitlen}", "split has 10 entries"),
    ("data info {npz_notrain2}", "no training samples"),
    ("data info {npz_notest}", "test split is empty"),
    ("data info {npz_fewnames}", "class_names has 2 names"),
    ("data info {npz_names2d}", "class_names must be a 1-D"),
    ("data info {npz_oneclass} --task anomaly", "task 'anomaly' needs"),
    ("data info {csv_short} --task classify", "use --task anomaly"),
    ("data info {npz_oneclass} --task regress", "Invalid value for '--task'"),
    # CSV series
    ("data info {csv_empty}", "needs a header row"),
    ("data info {csv_header_only}", "needs a header row"),
    ("data info {csv_numeric_header}", "must be a header"),
    ("data info {csv_no_channels}", "no numeric channel"),
    ("data info {csv_ragged}", "row 51 has 2 fields"),
    ("data info {csv_empty_first}", "row 2, column 'a'"),
    ("data info {csv_na_first}", "'n/a' is not a number"),
    ("data info {csv_nan_cell}", "NaN/inf not allowed"),
    ("data info {csv_inf_cell}", "NaN/inf not allowed"),
    ("data info {csv_overflow}", "beyond the float32 range"),
    ("data info {csv_short}", "fewer than one window"),
    ("data info {csv_all_anomalous}", "no normal windows"),
    ("data info {csv_bad_label}", "'yes' is not a number"),
    ("data info {csv_binary}", "not a readable CSV"),
    ("data info {csvdir_notest}", "missing test.csv"),
    ("data info {csvdir_channels}", "differ from train.csv"),
    ("data info {csv_good} --window 1", "--window must be an integer >= 2"),
    ("data info {csv_good} --window abc", "--window must be an integer or 'auto'"),
    ("data info {csv_good} --stride 0", "Invalid value for '--stride'"),
    ("data info {csv_good} --train-end -5", "Invalid value for '--train-end'"),
    ("data info {csv_good} --train-end 100000", "outside the series"),
    ("data info {csv_good} --train-end 10", "fewer than one window"),
    ("data info {npz_len_shape}", "lengths must be 30 integers"),
    ("data info {npz_len_big}", "lengths[0] = 13 is inconsistent"),
    ("data info {npz_len_zero}", "lengths[0] = 0 is inconsistent"),
    # Speech Commands folders
    ("data info {kws_empty}", "not a Speech Commands folder"),
    ("data info {kws_missing_word}", "missing word folder(s): stop"),
    ("data info {kws_no_wavs}", "class folder has no .wav files"),
    ("data info {kws_no_lists}", "testing_list.txt: missing"),
    ("data info {kws_corrupt_wav}", "cannot read WAV"),
    ("data info {kws_rate1}", "sample rate 1 Hz"),
    ("data info {kws_fifo_wav}", "not a regular file"),
    ("data info {kws_bad_noise}", "noise.wav: cannot read WAV"),
    ("data info {kws_long_wav}", "at most 600 s"),
    ("data info {kws_zero_wav}", "WAV has no samples"),
    ("data info {kws_nine_channels}", "9 channels"),
    ("data info {kws_no_test}", "the test split is empty"),
    # train: options
    ("train --data {npz_fewnames} --out {w}/o --units 0", "--units"),
    ("train --data {npz_fewnames} --out {w}/o --units -3", "--units"),
    ("train --data {npz_fewnames} --out {w}/o --units 100000", "--units"),
    ("train --data {npz_fewnames} --out {w}/o --layers 0", "--layers"),
    ("train --data {npz_fewnames} --out {w}/o --layers 99", "--layers"),
    ("train --data {npz_fewnames} --out {w}/o --arch transformer", "transformer"),
    ("train --data {npz_fewnames} --out {w}/o --epochs 0", "--epochs"),
    ("train --data {npz_fewnames} --out {w}/o --batch-size 0", "--batch-size"),
    ("train --data {npz_fewnames} --out {w}/o --lr 0", "--lr"),
    ("train --data {npz_fewnames} --out {w}/o --lr -1", "--lr"),
    ("train --data {npz_fewnames} --out {w}/o --lr nan", "--lr"),
    ("train --data {npz_fewnames} --out {w}/o --dropout 1.5", "--dropout"),
    ("train --data {npz_fewnames} --out {w}/o --dropout -0.5", "--dropout"),
    ("train --data {npz_fewnames} --out {w}/o --dropout 1", "--dropout"),
    ("train --data {npz_fewnames} --out {w}/o --dropout nan", "--dropout"),
    ("train --data {npz_fewnames} --out {w}/o --patience -1", "--patience"),
    ("train --data {npz_fewnames} --out {w}/o --lr inf", "--lr"),
    ("train --data {npz_fewnames} --out {w}/o --warmup-epochs -1", "--warmup-epochs"),
    ("train --data {npz_fewnames} --out {w}/o --min-epochs -1", "--min-epochs"),
    ("train --data {npz_fewnames} --out {w}/o --clipnorm -1", "--clipnorm"),
    ("train --data {npz_fewnames} --out {w}/o --clipnorm nan", "--clipnorm"),
    ("train --data {csv_good} --out {w}/o --task anomaly --window 1", "--window"),
    ("train --data {csv_good} --out {w}/o --task anomaly --stride 0", "--stride"),
    ("train --data {npz_fewnames} --out {w}/o --task regress", "Invalid value for '--task'"),
    ("train --data {npz_fewnames} --out {w}/o --units lots", "Invalid value for '--units'"),
    ("train --data {npz_fewnames} --out {w}/o --anomaly-model gan", "Invalid value for '--anomaly-model'"),
    ("train --out {w}/o", "Missing option '--data'"),
    ("train --data {npz_fewnames}", "Missing option '--out'"),
    # train: data and --out
    ("train --data {missing} --out {w}/o", "no such file"),
    ("train --data {npz_oneclass} --out {w}/o --task classify", "at least 2 classes"),
    ("train --data {npz_fewnames} --out {w}/o --task classify", "class_names has 2 names"),
    ("train --data {npz_xbig} --out {w}/o --task classify", "float32 range"),
    ("train --data {npz_fewnames} --out {w}/o --task anomaly", "task 'anomaly' needs"),
    ("train --data {csv_short} --out {w}/o --task kws", "use --task anomaly"),
    ("train --data {csv_overflow} --out {w}/o --task anomaly", "beyond the float32 range"),
    ("train --data {npz_fewnames} --out {exists} --task classify", "already exists"),
    ("train --data {npz_fewnames} --out {file} --task classify --overwrite", "not a folder"),
    ("train --data {npz_fewnames} --out {under_file} --task classify", "not a folder"),
    # prune
    ("prune {missing}", "no such run folder"),
    ("prune {file}", "no such run folder"),
    ("prune {run_nomodel}", "missing model.keras"),
    ("prune {run} --sparsity 0", "--sparsity"),
    ("prune {run} --sparsity 1", "--sparsity"),
    ("prune {run} --sparsity 1.5", "--sparsity"),
    ("prune {run} --sparsity nan", "--sparsity"),
    ("prune {run} --epochs -1", "--epochs"),
    ("prune {run} --out {exists}", "already exists"),
    ("prune {run} --out {under_file}", "not a folder"),
    ("prune {run_h5}", "HDF5"),
    ("prune {run_junkmodel}", "not a .keras model"),
    ("prune {run_units_str}", "'units' must be"),
    # quantize and the run folder's config.json
    ("quantize {run} --mode int4", "Invalid value for '--mode'"),
    ("quantize {run} --calibration-samples 0", "--calibration-samples"),
    ("quantize {missing}", "no such run folder"),
    ("quantize {run} --out {folder}", "is a folder"),
    ("quantize {run} --out {under_file}", "not a folder"),
    ("quantize {run_h5}", "HDF5"),
    ("quantize {run_junkmodel}", "not a .keras model"),
    ("quantize {run_zipjunk}", "no model.weights.h5 in the .keras archive"),
    ("quantize {run_fifo_config}", "not a regular file"),
    ("quantize {run_notjson}", "not valid JSON"),
    ("quantize {run_list}", "must be a JSON object"),
    ("quantize {run_notutf8}", "not valid JSON"),
    ("quantize {run_deep}", "not valid JSON"),
    ("quantize {run_units_str}", "'units' must be"),
    ("quantize {run_units_neg}", "'units' must be"),
    ("quantize {run_units_bool}", "'units' must be"),
    ("quantize {run_no_task}", "missing key 'task'"),
    ("quantize {run_task_bad}", "'task' must be"),
    ("quantize {run_arch_bad}", "'arch' must match"),
    ("quantize {run_classes_str}", "'class_names' must be"),
    ("quantize {run_classes_one}", "at least 2 classes"),
    ("quantize {run_shape_bad}", "'input_shape' must have at least 2 items"),
    ("quantize {run_shape_neg}", "'input_shape[1]' must be"),
    ("quantize {run_norm_len}", "input_norm.mean"),
    ("quantize {run_norm_zero}", "'input_norm.std[0]' must be greater than"),
    ("quantize {run_norm_missing}", "missing key 'input_norm'"),
    ("quantize {run_data_num}", "'data' must be"),
    ("quantize {run_dropout_bad}", "'dropout' must be"),
    ("quantize {run_anomaly_no_threshold}", "missing key 'threshold'"),
    ("quantize {run_layers_huge}", "'layers' must be"),
    # export
    ("export {run} --format tar", "Invalid value for '--format'"),
    ("export {missing}", "no such run folder"),
    ("export {run_h5} --format onnx", "HDF5"),
    ("export {run_nomodel} --format onnx", "missing model.keras"),
    ("export {w}/runs/h5 --format c-array", "run `edgernn quantize"),
    ("export {tfl_notfl} --format c-array", "not a TFLite model"),
    ("export {tfl_hdr} --format c", "TFLite"),
    ("export {run} --format onnx --out {folder}", "is a folder"),
    ("export {tfl} --format c --out {file}", "not a folder"),
    ("export {run_units_neg} --format onnx", "'units' must be"),
    # check
    ("check {missing}", "no such file"),
    ("check {tfl_notfl}", "not a TFLite model"),
    ("check {tfl_zeros}", "not a TFLite model"),
    ("check {fifo_tflite}", "not a regular file"),
    ("check {folder}", "folder"),
    ("check {tfl} --target esp32", "esp32"),
    # eval
    ("eval {missing}", "no such file"),
    ("eval {folder}", "folder"),
    ("eval {fifo_tflite}", "not a regular file"),
    ("eval {tfl_orphan}", "no config.json beside it"),
    ("eval {artifact_txt}", "no config.json"),
    ("eval {tfl} --limit 0", "--limit"),
    ("eval {tfl} --limit -3", "--limit"),
    ("eval {tfl} --limit few", "Invalid value for '--limit'"),
    ("eval {run}/model.keras --runtime tflm", "cannot load .keras files"),
    ("eval {tfl} --runtime gpu", "Invalid value for '--runtime'"),
    ("eval {tfl} --runtime keras", "cannot load .tflite files"),
    ("eval {onnx_bad}", "onnxruntime cannot load it"),
    ("eval {tfl_trunc} --runtime tflm", "model_trunc"),
    ("eval {tfl_trunc} --runtime litert", "model_trunc"),
    ("eval {tfl_hdr} --runtime litert", "not a TFLite model"),
    ("eval {tfl_notfl} --runtime tflm", "not a TFLite model"),
    ("eval {tfl_crash} --runtime tflm", "TFLite Micro crashed (SIGSEGV)"),
    ("eval {tfl} --out {folder}", "is a folder"),
    ("eval {tfl} --out {under_file}/m.json", "not a folder"),
    ("eval {tfl} --data {missing}", "no such file"),
    ("eval {tfl} --data {npz_wrongshape}", "does not match the model's input"),
    ("eval {tfl} --data {csv_short}", "looks like anomaly data"),
    ("eval {run_h5}/model.keras", "HDF5"),
    ("eval {run_units_str}/model_int8.tflite", "'units' must be"),
    ("eval {run_notjson}/model_int8.tflite", "not valid JSON"),
    # bench: artifacts and options
    ("bench", "no artifacts"),
    ("bench {missing}", "no such file"),
    ("bench {fifo_tflite}", "not a regular file"),
    ("bench {artifact_txt}", "unknown artifact type"),
    ("bench {tfl} --target gpu", "Invalid value for '--target'"),
    ("bench {tfl} --runtimes tensorrt", "unknown runtime"),
    ("bench {tfl} --threads 0", "--threads"),
    ("bench {tfl} --runs 0", "--runs"),
    ("bench {tfl} --repeat 0", "--repeat"),
    ("bench {tfl} --warmup -1", "--warmup"),
    ("bench {tfl} --limit -1", "--limit"),
    ("bench {tfl} --out {file}", "not a folder"),
    ("bench {tfl} --out {under_file}", "not a folder"),
    ("bench {tfl} --host pi@x", "--host is only for --target rpi"),
    ("bench {run}/model.keras --runtimes native", "no runtime can run"),
    ("bench {tfl_crash} --runtimes tflm --limit 0", "crashed (SIGSEGV)"),
    ("bench {tfl_notfl} --limit 0", "not a TFLite model"),
    # bench --target rpi
    ("bench {tfl} --target rpi", "--target rpi needs --host"),
    ("bench {tfl} --target rpi --host -oProxyCommand=touch", "invalid --host"),
    ("bench {tfl} --target rpi --host pi@host;rm", "invalid --host"),
    ("bench {tfl} --target rpi --host pi@127.0.0.1 --timeout 0", "--timeout"),
    ("bench {tfl} --target rpi --host pi@127.0.0.1 --timeout -1", "--timeout"),
    ("bench {tfl} --target rpi --host pi@127.0.0.1 --timeout nan", "--timeout"),
    ("bench {tfl} --target rpi --host pi@127.0.0.1 --port 0", "Invalid value for '--port'"),
    ("bench {tfl} --target rpi --host pi@127.0.0.1 --port 70000", "Invalid value for '--port'"),
    ("bench {tfl} --target rpi --host pi@127.0.0.1 --identity {missing}", "identity file not found"),
    ("bench {tfl} --target rpi --host pi@127.0.0.1 --remote-dir scratch", "invalid --remote-dir"),
    ("bench {tfl} --target rpi --host pi@127.0.0.1 --out {file}", "not a folder"),
    # bench --target mcu
    ("bench {run}/model.keras --target mcu", "--target mcu takes int8 .tflite"),
    ("bench {tfl_trunc} --target mcu", "model_trunc"),
    ("bench {tfl_notfl} --target mcu", "not a TFLite model"),
    ("bench {tfl} --target mcu --board esp32", "unknown board"),
    ("bench {tfl} --target mcu --vectors 0", "--vectors"),
    ("bench {tfl} --target mcu --out {file}", "not a folder"),
    ("bench {tfl_crash} --target mcu", "crashed (SIGSEGV)"),
    # report
    ("report --out {w}/rep", "no result folders"),
    ("report {bench_empty} --out {w}/rep", "results.json"),
    ("report {bench_badjson} --out {w}/rep", "not valid JSON"),
    ("report {bench_wrong} --out {w}/rep", "not an edgernn bench result"),
    ("report {bench_empty} --out {w}/rep --format pdf", "unknown report format"),
    ("report {bench_empty} --out {file}", "not a folder"),
    ("report {bench_empty}", "Missing option '--out'"),
    # firmware
    ("firmware build {missing}", "no such file"),
    ("firmware build {tfl_notfl}", "not a TFLite model"),
    ("firmware build {tfl_trunc}", "model_trunc"),
    ("firmware build {tfl_crash} --out {w}/fw", "crashed (SIGSEGV)"),
    ("firmware build {tfl} --board esp32", "unknown board"),
    ("firmware build {tfl} --vectors 0", "--vectors"),
    ("firmware build {tfl} --app web", "Invalid value for '--app'"),
    ("firmware build {tfl} --out {file}", "not a folder"),
    ("firmware run {missing}", "no such file"),
    ("firmware run {elf_text}", "not an ELF file"),
    ("firmware run {elf_x86}", "not a 32-bit ARM"),
    ("firmware run {folder}", "folder"),
    ("firmware run {fifo_tflite}", "not a regular file"),
    ("firmware run {elf_text} --board esp32", "unknown board"),
    ("firmware run {elf_text} --timeout 0", "Invalid value for '--timeout'"),
    ("firmware flash {elf_text} --board stm32f4", "not an ELF file"),
    ("firmware build {tfl} --wav {file}", "--wav and --audio are only for --app kws"),
    ("firmware build {run} --app kws", "no feature parameters"),
    ("firmware run {elf_text} --app kws", "not an ELF file"),
    ("firmware stream {run} --wav {fifo_wav}", "not a regular file"),
    ("firmware stream {run} --wav {missing}", "no such file"),
    ("bench {tfl} --target mcu --app kws", "--app kws needs --wav"),
    ("bench {tfl} --app kws", "--app kws is for --target mcu"),
    ("train --data {npz_fewnames} --out {w}/o --feature-arithmetic int", "Invalid value for '--feature-arithmetic'"),
    ("firmware flash {elf_text}", "Missing option '--board'"),
    # compare (options are checked before any training)
    ("compare --data {npz_fewnames} --out {w}/cmp --budget flops", "Invalid value for '--budget'"),
    ("compare --out {w}/cmp", "Missing option '--data'"),
    ("compare --data {missing} --out {w}/cmp --task classify", "no such file"),
    ("compare --data {npz_fewnames} --out {w}/cmp --task classify --seeds 0", "--seeds"),
    ("compare --data {npz_fewnames} --out {w}/cmp --task classify --targets mcu:nosuch", "unknown board"),
    ("compare --data {npz_fewnames} --out {w}/cmp --task classify --targets gpu", "gpu"),
    ("compare --data {npz_fewnames} --out {w}/cmp --task classify --seq-lens abc", "--seq-lens"),
    ("compare --data {npz_fewnames} --out {w}/cmp --task classify --seq-lens -5", "--seq-lens"),
    ("compare --data {npz_fewnames} --out {w}/cmp --task classify --user-seq-lens x", "--user-seq-lens"),
    ("compare --data {npz_fewnames} --out {w}/cmp --task classify", "class_names has 2 names"),
    # the top level
    ("nosuchcommand", "No such command"),
    ("data nosuch", "No such command"),
    ("train --no-such-option 1 --data x --out y", "No such option"),
]


# --- running the table -----------------------------------------------------------------------------------------

def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            out[p] = (st.st_size if not os.path.isdir(p) else 0, st.st_mtime_ns if not os.path.isdir(p) else 0)
    return out


class _Hang(Exception):
    pass


def _run_case(args: list[str]) -> tuple[object, float, bool]:
    def on_alarm(*_):
        raise _Hang()

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(HANG_SECONDS)
    start = time.time()
    try:
        r = CliRunner().invoke(main, args)
        return r, time.time() - start, False
    except _Hang:
        return None, time.time() - start, True
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def _judge(template: str, fragment: str, world: dict, monkeypatch) -> tuple[str, str]:
    """('clean' | 'traceback' | 'silent' | 'hang' | 'wrong', detail) for one case."""
    args = [a.format(**{k: str(v) for k, v in world.items()}) for a in template.split()]
    if "npz_bomb" in template:
        from edgernn.data import npz

        monkeypatch.setattr(npz, "MAX_NPZ_BYTES", 8 * 1024 * 1024)
    before = _snapshot(world["w"])
    r, seconds, hung = _run_case(args)
    after = _snapshot(world["w"])
    if hung:
        return "hang", f"no answer within {HANG_SECONDS} s"
    output = r.output
    errors = [ln for ln in output.splitlines() if ln.startswith("edgernn: error:")]
    if "Traceback" in output or (r.exception is not None and not isinstance(r.exception, SystemExit)):
        return "traceback", f"{type(r.exception).__name__}: {r.exception}"[:300]
    if r.exit_code != 2 or not errors:
        return "silent", f"exit {r.exit_code}, output {output.strip()[-300:]!r}"
    if len(errors) != 1:
        return "wrong", f"{len(errors)} error lines: {errors}"
    if fragment not in errors[0]:
        return "wrong", f"expected {fragment!r} in {errors[0]!r}"
    written = sorted(set(after) - set(before)) + sorted(p for p in before if p in after and after[p] != before[p])
    written = [p for p in written if "/.edgernn_cache" not in p]
    removed = sorted(set(before) - set(after))
    if written or removed:
        return "wrong", f"left files behind: {written[:3]} / removed {removed[:3]}"
    return "clean", f"{seconds:.1f} s"


def test_cases_are_distinct():
    assert len({c[0] for c in CASES}) == len(CASES) >= 150


def test_bad_input_suite(world, monkeypatch, capsys):
    totals = {"clean": 0, "traceback": 0, "silent": 0, "hang": 0, "wrong": 0}
    failures = []
    start = time.time()
    for template, fragment in CASES:
        with monkeypatch.context() as m:
            verdict, detail = _judge(template, fragment, world, m)
        totals[verdict] += 1
        if verdict != "clean":
            failures.append(f"[{verdict}] edgernn {template}: {detail}")
    with capsys.disabled():
        print(f"\nbad-input suite: {len(CASES)} cases, {totals['clean']} clean errors, {totals['traceback']} tracebacks, "
              f"{totals['silent']} silent crashes, {totals['hang']} hangs, {totals['wrong']} wrong message or files "
              f"({time.time() - start:.0f} s)")
    assert not failures, "\n".join(failures)


def test_paths_that_look_like_rich_markup_are_printed_as_they_are(tmp_path, capsys):
    # rich reads "[/b]" as a closing tag: unescaped, a folder named so made every table raise
    from click.testing import CliRunner

    from edgernn.bench.report import print_table
    from edgernn.bench.schema import row
    from edgernn.cli import main

    data = tmp_path / "[/b]anom"
    assert CliRunner().invoke(main, ["data", "synth-anomaly", str(data)]).exit_code == 0
    r = CliRunner().invoke(main, ["data", "info", str(data), "--task", "anomaly"])
    assert r.exit_code == 0 and "[/b]anom: anomaly" in r.output, r.output
    print_table([row({"artifact": "runs/[/red]x.tflite", "runtime": "litert", "target": "cpu", "file_bytes": 2048})], title="[bold]t")
    out = capsys.readouterr().out
    assert "[/red]x.tflite" in out and "[bold]t" in out


def test_an_option_of_another_data_format_is_one_error_line(tmp_path):
    """--holdout-engine, --keywords or --window on an .npz went to the npz loader as a TypeError traceback
    (found by tools/fuzz_cli.py); now the loader dispatch names the option."""
    import numpy as np
    from click.testing import CliRunner

    from edgernn.cli import main

    path = tmp_path / "d.npz"
    np.savez(path, X=np.zeros((8, 5, 2), np.float32), y=np.array([0, 1] * 4))
    for option, value in (("--holdout-engine", "piper"), ("--keywords", "yes,no"), ("--window", "4")):
        r = CliRunner().invoke(main, ["data", "info", str(path), option, value])
        assert r.exit_code == 2, r.output
        assert f"{option} does not apply to an .npz dataset" in r.output and "Traceback" not in r.output
