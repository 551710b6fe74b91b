"""`make demo` (issue 23, items 3-4): it trains with the KWS default recipe, the one the reference
models in models/ are made with, and prints one timing line per stage (tools/timed.py)."""
from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from edgernn.cli import main
from edgernn.train.recipe import KWS_LR, KWS_LR_SCHEDULE, make_recipe

REPO = Path(__file__).resolve().parents[1]
TIMED = REPO / "tools" / "timed.py"
# recipe options of `edgernn train`: the demo must give none of them, so it runs the defaults
RECIPE_OPTIONS = {"--epochs", "--batch-size", "--lr", "--patience", "--warmup-epochs", "--min-epochs", "--clipnorm",
                  "--lr-schedule", "--dropout", "--label-smoothing", "--unknown-weight", "--no-augment",
                  "--augment-options", "--seed", "--steps-per-execution"}


def demo_train_commands() -> list[list[str]]:
    """The `edgernn train` command lines of the Makefile's demo recipe (continuation lines joined)."""
    text = (REPO / "Makefile").read_text().replace("\\\n", " ")
    recipe = text.split("\ndemo:", 1)[1].split("\n\n", 1)[0]
    return [shlex.split(m.group(0).split(";")[0].split(">")[0].split("&")[0])
            for m in re.finditer(r"\$\(BIN\)/edgernn train [^;&>]*", recipe)]


def test_demo_trains_gru64_and_lstm64_with_the_default_kws_recipe():
    commands = demo_train_commands()
    archs = sorted(c[c.index("--arch") + 1] for c in commands)
    assert archs == ["gru", "lstm"]
    for c in commands:
        assert c[c.index("--task") + 1] == "kws" and c[c.index("--units") + 1] == "64"
        assert not RECIPE_OPTIONS & set(c), c  # defaults only: what models/ and the docs report
    # the options the demo leaves out are the train command's own defaults (recipe derived from the data)
    train = main.get_command(None, "train")
    defaults = {p.name: p.default for p in train.params}
    assert defaults["epochs"] is None and defaults["batch_size"] is None and defaults["lr"] is None
    assert defaults["lr_schedule"] is None and defaults["seed"] == 0


def test_demo_synthesizes_with_the_default_workers_unless_told():
    """make demo passes --workers $(DEMO_SYNTH_WORKERS) (a knob for timing it; the data are the same bytes
    whatever the number), and its default is the synth-kws default."""
    from edgernn import defaults as D

    text = (REPO / "Makefile").read_text()
    synth = next(line for line in text.split("\ndemo:", 1)[1].splitlines() if "synth-kws" in line)
    assert "--workers $(DEMO_SYNTH_WORKERS)" in synth
    assert re.search(r"^DEMO_SYNTH_WORKERS \?= (\d+)$", text, re.M).group(1) == str(D.SYNTH_WORKERS)


def test_the_kws_default_recipe_on_the_demo_data_size():
    # 38,016 training samples (594 steps of 64): today's default data, clips and silence with 2 augmented
    # copies, as recorded in models/kws-*/config.json
    r = make_recipe(38_016, task="kws")
    assert (r["batch_size"], r["epochs"], r["lr"], r["lr_schedule"]) == (64, 40, KWS_LR, KWS_LR_SCHEDULE)
    assert r["patience"] == r["epochs"]  # the cosine schedule runs to its end, the best weights kept


def test_make_models_trains_the_kws_models_the_way_the_demo_does():
    sys.path.insert(0, str(REPO / "tools"))
    try:
        import make_models
    finally:
        sys.path.remove(str(REPO / "tools"))
    for c in demo_train_commands():
        spec = make_models.SPECS[f"kws-{c[c.index('--arch') + 1]}64"]
        assert (spec["task"], spec["arch"], spec["units"], spec["data"]) == \
            ("kws", c[c.index("--arch") + 1], 64, c[c.index("--data") + 1].replace("$(DEMO_DATA)", "data/kws"))


def test_timed_records_wall_and_cpu_time_and_passes_the_exit_status_on(tmp_path):
    log = tmp_path / "times.jsonl"
    busy = [sys.executable, "-c", "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.3: pass"]
    assert subprocess.run([sys.executable, str(TIMED), str(log), "busy", "--", *busy]).returncode == 0
    assert subprocess.run([sys.executable, str(TIMED), str(log), "fails", "--", sys.executable, "-c",
                           "raise SystemExit(3)"]).returncode == 3
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert [r["stage"] for r in records] == ["busy", "fails"] and [r["status"] for r in records] == [0, 3]
    assert records[0]["cpu_seconds"] >= 0.3 and records[0]["end"] - records[0]["start"] >= 0.3
    shown = subprocess.run([sys.executable, str(TIMED), "--show", str(log)], capture_output=True, text=True).stdout
    lines = shown.splitlines()
    assert lines[0] == "time per stage:" and lines[1].startswith("busy") and "(exit 3)" in lines[2]
    assert lines[3].startswith("total") and "CPU-s" in lines[3]
    total_cpu = float(lines[3].split("wall")[1].split()[0])
    assert abs(total_cpu - sum(r["cpu_seconds"] for r in records)) < 0.11


def test_timed_usage_error_is_one_line_and_status_2(tmp_path):
    r = subprocess.run([sys.executable, str(TIMED), str(tmp_path / "log")], capture_output=True, text=True)
    assert r.returncode == 2 and len(r.stderr.splitlines()) == 1 and "Traceback" not in r.stderr


def test_unrolled_training_copy_computes_what_the_saved_model_computes():
    """KWS trains an unrolled copy (train.loop.UNROLL_MAX_STEPS); its weights go into the model built
    without unrolling, the one saved and converted: same list, same outputs."""
    import numpy as np

    from edgernn.models import build_classifier
    from edgernn.records import Architecture
    from edgernn.train.loop import _rolled, _unrolled

    X = np.random.default_rng(0).normal(size=(16, 49, 10)).astype(np.float32)
    for arch in ("gru", "lstm", "rnn"):
        config = Architecture(task="kws", arch=arch, units=8, layers=2, input_shape=[49, 10],
                              class_names=["a", "b", "c"], dropout=0.0)
        assert _unrolled(config) and not _unrolled(config.model_copy(update={"task": "classify"}))
        assert not _unrolled(config.model_copy(update={"input_shape": [1000, 10]}))  # long windows: not unrolled
        layers = 2 if arch == "gru" else 1  # stacked once: every layer is unrolled, not only the first
        config = config.model_copy(update={"layers": layers})
        trained = build_classifier(arch, 8, layers, (49, 10), 3, unroll=True)
        assert all(layer.unroll for layer in trained.layers if hasattr(layer, "unroll"))
        saved = _rolled(trained, config)
        assert not any(layer.unroll for layer in saved.layers if hasattr(layer, "unroll"))
        np.testing.assert_allclose(saved.predict(X, verbose=0), trained.predict(X, verbose=0), atol=1e-5)


@pytest.mark.parametrize("chunk", [3, 32])
def test_masked_batch_pipeline_yields_the_sequence_batches_epoch_after_epoch(chunk):
    """The tf.data pipeline KWS training reads (static shape, chunks of batches made ahead) gives the same
    masked batches in the same order as the Sequence it wraps, a new order and new masks each epoch,
    whether an epoch is one chunk or chunks that do not divide it (4 batches, the last one short)."""
    import numpy as np

    from edgernn.data.augment import check_augment
    from edgernn.tf import load
    from edgernn.records import Augment, RunConfig
    from edgernn.train.loop import _batch_dataset, _training_batches

    _, keras = load()
    X = np.random.default_rng(1).normal(size=(50, 49, 10)).astype(np.float32)
    y = np.arange(50, dtype=np.int64) % 3
    # only the fields the batches read (model_construct: no whole-run validation for a unit test)
    config = RunConfig.model_construct(augment=Augment(**check_augment(None)), seed=4, batch_size=16)
    reference = _training_batches(keras, X, y, config)
    dataset = _batch_dataset(_training_batches(keras, X, y, config), 49, 10, 16, chunk=chunk)
    assert dataset.element_spec[0].shape.as_list() == [None, 49, 10] and int(dataset.cardinality()) == 4
    epochs = []
    for _ in range(3):
        got = [(bx.numpy(), by.numpy()) for bx, by in dataset]
        want = [reference[i] for i in range(len(reference))]
        reference.on_epoch_end()
        assert len(got) == len(want) == 4
        for (gx, gy), (wx, wy) in zip(got, want):
            np.testing.assert_array_equal(gx, wx)
            np.testing.assert_array_equal(gy, wy)
        epochs.append(np.concatenate([gy for _, gy in got]))
    assert not np.array_equal(epochs[0], epochs[1])  # reshuffled between epochs


def test_synthesis_profile_attributes_cpu_to_each_engine_of_the_default_plan(tmp_path):
    from edgernn.data import tts

    if not {"espeak", "flite", "festival"} <= set(tts.available_engines()):
        import pytest
        pytest.skip("needs the Debian speech engines")
    out = tmp_path / "r.json"
    script = Path(__file__).resolve().parents[1] / "tools" / "bench_synth_engines.py"
    r = subprocess.run([sys.executable, str(script), "--speakers", "6", "--out", str(out)], capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    rec = json.loads(out.read_text())
    assert rec["speakers"] == 6 and rec["clips"] == sum(e["clips"] for e in rec["engines"].values()) == 6 * 26
    assert all(e["cpu_s"] > 0 and e["ms_per_clip"] > 0 for e in rec["engines"].values())
    # kept engine children (festival, piper) are counted: the engines' CPU is part of the total
    assert sum(e["cpu_s"] for e in rec["engines"].values()) <= rec["total_cpu_s"]
    bad = subprocess.run([sys.executable, str(script), "--speakers", "0"], capture_output=True, text=True)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


def test_early_stop_replay_stops_where_keras_early_stopping_stops(tmp_path):
    """tools/early_stop_replay.py replays EarlyStopping on a recorded validation curve: for every patience
    it must stop at the epoch, and keep the epoch, that Keras's own callback does (start_from_epoch too)."""
    import numpy as np

    from conftest import load_tool
    from edgernn.tf import load

    _, keras = load()
    tool = load_tool("early_stop_replay")
    rng = np.random.default_rng(0)
    curve = list(np.maximum(0.3, 1.0 / np.arange(1, 41) + rng.normal(0, 0.04, 40)))
    model = keras.Sequential([keras.layers.Input((1,)), keras.layers.Dense(1)])
    for patience in (1, 2, 3, 5, 8, 50):
        for start in (0, 3):
            stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True,
                                                 start_from_epoch=start)
            stop.set_model(model)
            stop.on_train_begin()
            ran = len(curve)
            for epoch, v in enumerate(curve):
                stop.on_epoch_end(epoch, {"val_loss": v})
                if model.stop_training:
                    ran = epoch + 1
                    break
            model.stop_training = False
            assert tool.replay(curve, patience, start) == (ran, stop.best_epoch + 1), (patience, start)
    run = tmp_path / "run"
    run.mkdir()
    (run / "history.json").write_text(json.dumps({"val_loss": curve, "val_accuracy": [1 - v for v in curve]}))
    (run / "config.json").write_text(json.dumps({"arch": "gru", "recipe": {"lr_schedule": "cosine", "min_epochs": 1}}))
    result = tool.analyse(run, [2, 50])
    assert result["rows"][1]["same_model"] and result["rows"][1]["epochs_saved"] == 0
    assert result["rows"][0]["epochs_run"] <= result["epochs"]
    bad = subprocess.run([sys.executable, str(REPO / "tools" / "early_stop_replay.py"), str(tmp_path / "none")],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
