"""Issue 26: frame stacking, per-series normalization, series augmentation, nearest-neighbour baselines
(docs/guides/long-series.md)."""
from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from edgernn.cli import main
from edgernn.data.series_augment import augment_series, check_strength
from edgernn.errors import UserError
from edgernn.features.series import constant_series, znorm_series
from edgernn.models.frame import auto_candidates, check_frame, frame_note, parse_frame, stack_frames
from edgernn.records import read_config
from edgernn.train import guard as G
from edgernn.train.baselines import baselines, dtw_distances, euclidean_distances
from edgernn.train.run import prepare_inputs


# --- frame stacking -------------------------------------------------------------------------------------

def test_frames_are_the_same_bytes_when_k_divides_t():
    X = np.arange(2 * 12 * 3, dtype=np.float32).reshape(2, 12, 3)
    framed = stack_frames(X, 4)
    assert framed.shape == (2, 3, 12)
    np.testing.assert_array_equal(framed.ravel(), X.ravel())  # a device feeds its sample buffer unchanged
    np.testing.assert_array_equal(framed[0, 1], X[0, 4:8].ravel())  # step 1 = samples 4..7, channels interleaved


def test_a_t_that_k_does_not_divide_is_padded_at_the_start_and_said_so():
    X = np.arange(10, dtype=np.float32).reshape(1, 10, 1)
    framed = stack_frames(X, 4)
    assert framed.shape == (1, 3, 4)
    assert np.isnan(framed[0, 0, :2]).all() and framed[0, 0, 2] == 0 and framed[0, -1, -1] == 9  # data ends last
    assert "padded by 2" in frame_note(10, 4) and frame_note(12, 4) is None


def test_frame_bounds():
    with pytest.raises(UserError, match="larger than"):
        check_frame(11, 10)
    for bad in ("x", 0, -2, 2.5):
        with pytest.raises(UserError, match="--frame"):
            parse_frame(bad)
    assert parse_frame(None) == "auto" and parse_frame("8") == 8


def test_auto_candidates_only_for_long_narrow_series():
    assert auto_candidates(24, 1) == [1] and auto_candidates(500, 6) == [1]
    for steps in (96, 251, 427, 1460):
        ks = auto_candidates(steps, 1)
        assert 1 <= len(ks) <= 2 and all(12 <= -(-steps // k) <= 64 for k in ks)


# --- per-series normalization ---------------------------------------------------------------------------

def test_series_znorm_per_channel_keeps_padding():
    rng = np.random.default_rng(0)
    X = (rng.normal(5, 3, (4, 30, 2)) * [1, 100]).astype(np.float32)
    X[1, :7] = np.nan
    Z = znorm_series(X)
    assert np.isnan(Z[1, :7]).all() and not np.isnan(Z[1, 7:]).any()
    np.testing.assert_allclose(np.nanmean(Z, axis=1), 0, atol=1e-5)
    np.testing.assert_allclose(np.nanstd(Z, axis=1), 1, atol=1e-4)


def test_a_constant_series_cannot_be_series_normalized():
    X = np.random.default_rng(0).normal(size=(3, 20, 2)).astype(np.float32)
    X[2, :, 1] = 4.0
    assert constant_series(X).tolist() == [2]
    with pytest.raises(UserError, match="series 2 .*constant"):
        znorm_series(X)


# --- baselines ------------------------------------------------------------------------------------------

def _dtw_brute(a, b, w):
    T = len(a)
    D = np.full((T + 1, T + 1), np.inf)
    D[0, 0] = 0
    for i in range(1, T + 1):
        for j in range(max(1, i - w), min(T, i + w) + 1):
            D[i, j] = ((a[i - 1] - b[j - 1]) ** 2).sum() + min(D[i - 1, j], D[i, j - 1], D[i - 1, j - 1])
    return D[T, T]


@pytest.mark.parametrize("steps,band,features", [(17, 0.1, 1), (20, 0.25, 3), (9, 1.0, 2)])
def test_banded_dtw_equals_a_brute_force_reference(steps, band, features):
    rng = np.random.default_rng(steps)
    A, B = rng.normal(size=(5, steps, features)), rng.normal(size=(4, steps, features))
    w = max(1, int(np.ceil(band * steps)))
    want = np.array([[_dtw_brute(b, a, w) for a in A] for b in B])
    np.testing.assert_allclose(dtw_distances(A, B, band), want, rtol=1e-12)
    assert (dtw_distances(A, B, band) <= euclidean_distances(A, B) + 1e-9).all()  # the diagonal is one path


def test_dtw_finds_a_shifted_shape_that_euclidean_misses():
    t = np.arange(60)
    bump = lambda c: np.exp(-0.5 * ((t - c) / 2.0) ** 2)[:, None]  # noqa: E731
    ref = np.stack([bump(20), np.zeros((60, 1)) + 0.1])  # class 0: a bump; class 1: flat
    query = bump(24)[None]  # class 0's bump, shifted by 4 steps
    b = baselines(ref, np.array([0, 1]), query, np.array([0]))
    assert b["nn_euclidean"] == 0.0 and b["nn_dtw"] == 1.0 and b["majority"] == 1.0  # majority: first class


def test_dtw_is_skipped_above_its_budget():
    rng = np.random.default_rng(0)
    b = baselines(rng.normal(size=(4, 50, 1)), np.array([0, 1, 0, 1]), rng.normal(size=(3, 50, 1)),
                  np.array([0, 1, 1]), dtw_max_cells=100)
    assert b["nn_dtw"] is None and "budget" in b["dtw_note"]


def test_guard_warns_well_below_1nn_only():
    assert G.below_baseline(0.60, {"nn_euclidean": 0.80})
    assert not G.below_baseline(0.75, {"nn_euclidean": 0.80}) and not G.below_baseline(0.5, None)


# --- augmentation ---------------------------------------------------------------------------------------

def test_augmentation_is_seeded_keeps_padding_and_strength_0_is_off():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(16, 80, 1)).astype(np.float32)
    X[3, :20] = np.nan
    y = np.repeat([0, 1], 8)
    a = augment_series(X, y, np.random.default_rng(5), 1.0)
    b = augment_series(X, y, np.random.default_rng(5), 1.0)
    np.testing.assert_array_equal(a, b)
    assert np.isnan(a[3, :20]).all() and not np.isnan(a[:, 20:]).any()
    assert np.abs(a - X)[:, 20:].mean() > 0.01
    assert augment_series(X, y, np.random.default_rng(5), 0.0) is X
    for bad in ("x", -0.1, 1.5, float("nan")):
        with pytest.raises(UserError):
            check_strength(bad)


# --- train, data info, bad input ------------------------------------------------------------------------

def _long_npz(path, steps=100, constant=False):
    """Two classes told apart by the shape of a long narrow series (a bump early or late) under random
    offsets and gains, which per-series normalization removes."""
    rng = np.random.default_rng(0)
    n = 60
    y = np.arange(n) % 2
    t = np.arange(steps)
    centre = np.where(y == 0, steps * 0.3, steps * 0.7)[:, None]
    X = np.exp(-0.5 * ((t[None] - centre) / 4.0) ** 2) + rng.normal(0, 0.05, (n, steps))
    X = X * rng.uniform(0.5, 3, (n, 1)) + rng.uniform(-5, 5, (n, 1))
    if constant:
        X[5] = 1.0
    split = np.array(["train"] * 36 + ["val"] * 12 + ["test"] * 12)
    np.savez(path, X=X[..., None].astype(np.float32), y=y, split=split)
    return path


def _cli(*args):
    return CliRunner().invoke(main, list(map(str, args)))


def _one_error_line(result, fragment):
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert result.exit_code == 2, result.output
    assert len(lines) == 1 and lines[0].startswith("edgernn: error:") and fragment in lines[0], result.output
    assert "Traceback" not in result.output


def test_frame_larger_than_t_is_one_error_line(tmp_path):
    data = _long_npz(tmp_path / "d.npz")
    r = _cli("train", "--task", "classify", "--data", data, "--out", tmp_path / "run", "--frame", 101)
    _one_error_line(r, "larger than the series' 100 steps")
    assert not (tmp_path / "run").exists()
    _one_error_line(_cli("data", "info", data, "--frame", 101), "larger than")


def test_series_normalization_of_a_constant_series_is_one_error_line(tmp_path):
    data = _long_npz(tmp_path / "d.npz", constant=True)
    r = _cli("train", "--task", "classify", "--data", data, "--out", tmp_path / "run", "--normalize", "series")
    _one_error_line(r, "constant")
    assert not (tmp_path / "run").exists()


def test_series_options_are_for_classify_only(tmp_path):
    r = _cli("train", "--task", "anomaly", "--data", tmp_path / "x.csv", "--out", tmp_path / "run", "--frame", 4)
    _one_error_line(r, "--frame applies to --task classify only")


def test_data_info_shows_the_framed_input(tmp_path):
    data = _long_npz(tmp_path / "d.npz")
    r = _cli("data", "info", data, "--frame", 8)
    assert r.exit_code == 0 and "13x8" in r.output.replace("\n", "") and "padded by 4" in r.output.replace("\n", "")


@pytest.fixture(scope="module")
def framed_run(tmp_path_factory):
    """GRU-8 trained with --frame 8 on 100 steps (4 epochs): (data, run folder, CLI output)."""
    tmp = tmp_path_factory.mktemp("framed")
    data = _long_npz(tmp / "d.npz")
    r = _cli("train", "--task", "classify", "--arch", "gru", "--units", 8, "--data", data, "--out", tmp / "run",
             "--frame", 8, "--epochs", 4, "--augment-strength", 0.5)
    assert r.exit_code == 0, r.output
    return data, tmp / "run", r.output


def test_train_with_a_frame_that_does_not_divide_t(framed_run):
    """--frame 8 on 100 steps: padded (a note, not an error); every consumer sees the framed input; baselines
    and the choice of normalization are recorded."""
    data, run, output = framed_run
    assert "edgernn: note: --frame 8 does not divide the 100 steps" in output and "padded by 4" in output
    config = json.loads((run / "config.json").read_text())
    metrics = json.loads((run / "metrics.json").read_text())
    assert config["frame"] == 8 and config["series_shape"] == [100, 1] and config["input_shape"] == [13, 8]
    assert config["augment_strength"] == 0.5 and len(config["input_norm"]["mean"]) == 8
    # random offsets and gains: per-series normalization wins on validation 1-NN
    assert config["normalize"] == "series"
    b = metrics["baselines"]
    assert b["nn_euclidean"] >= 0.9 and b["nn_dtw"] >= 0.9 and b["majority"] == 0.5
    assert "baseline: 1-NN Euclidean" in output and "frame (samples per step)" in output
    X = np.load(data)["X"][:3]
    assert prepare_inputs(X, read_config(run / "config.json")).shape == (3, 13, 8)


def test_a_framed_run_quantizes_and_its_c_is_bit_exact(framed_run):
    """The framed model through int8 (TFLite Micro input 13x8) and the generated C, bit for bit."""
    from edgernn import api
    from edgernn.runtimes.tflm import TFLMRuntime
    from tests.conftest import assert_c_matches_tflm

    _, run, _ = framed_run
    model = api.quantize(run, mode="int8", calibration_samples=20)
    assert tuple(TFLMRuntime(model).input_info().shape) == (1, 13, 8)
    assert_c_matches_tflm(model, n=3, seed=0)


# --- tools/bench_real.py --------------------------------------------------------------------------------

def _bench_row(bench, name, arch, tests, ed, chance=0.4):
    runs = [{"test": t, "val": t, "flagged": False, "epochs": 10, "batch": 8, "seconds": 1.0, "chance": chance,
             "baselines": {"majority": chance, "nn_euclidean": ed, "nn_dtw": None}, "below": False, "frame": 8,
             "normalize": "feature", "augment_strength": 0.0, "select": "cv"} for t in tests]
    return {"set": name, "arch": arch, "seeds": len(tests), "ed_measured": ed, "default": bench.over_seeds(runs)}


def test_bench_real_checks_the_1nn_target_and_runs_at_chance(capsys):
    from tests.conftest import load_tool

    bench = load_tool("bench_real")
    rows = [_bench_row(bench, "A", "gru", [0.79, 0.80, 0.81], 0.81),   # -1.0: within 2 points
            _bench_row(bench, "A", "lstm", [0.70, 0.80, 0.81], 0.81),  # -4.0: missed
            _bench_row(bench, "A", "rnn", [0.40, 0.40, 0.40], 0.81),   # RNN is shown, not held to the target
            _bench_row(bench, "B", "gru", [0.42, 0.9, 0.9], 0.5)]      # 1-NN only 10 points above chance
    summary = bench.nn_summary(rows)
    assert "on 1 of 2 sets; missed: A LSTM -4.0" in summary
    assert "A RNN seed 0, A RNN seed 1, A RNN seed 2" in summary and "B GRU" not in summary
    bench.print_tables(rows, [])
    out = capsys.readouterr().out
    assert "1-NN ED" in out and "[79/80/81]" in out and "select" in out
    assert all(" cv " in line for line in out.splitlines() if "[79/80/81]" in line)


def test_the_guard_adds_its_below_baseline_warning_only_when_it_applies():
    history = {"loss": [1.0, 0.5, 0.2], "val_loss": [1.0, 0.6, 0.3]}
    y = np.array([0, 1, 2] * 10)
    g = G.classification_guard(history, {}, y, 0.6, y, 0.6, 3, {"nn_euclidean": 0.9})
    assert not g["did_not_learn"] and "well below 1-NN Euclidean (90.0%)" in g["below_baseline"][0]
    assert "below_baseline" not in G.classification_guard(history, {}, y, 0.6, y, 0.85, 3, {"nn_euclidean": 0.9})


# --- choosing by cross-validation (--select) -----------------------------------------------------------

def test_cv_folds_are_stratified_seeded_and_cover_every_row_once():
    from edgernn.train import select as S

    y = np.array([0] * 13 + [1] * 7 + [2] * 5)
    folds = S.cv_folds(y, 5, seed=3)
    assert folds.shape == y.shape and set(folds.tolist()) == set(range(5))
    for k in range(3):  # every class in every fold, in proportion
        counts = np.bincount(folds[y == k], minlength=5)
        assert counts.min() >= 1 and counts.max() - counts.min() <= 1
    assert np.bincount(folds).max() - np.bincount(folds).min() <= 1  # folds of even size
    np.testing.assert_array_equal(folds, S.cv_folds(y, 5, seed=3))
    assert not np.array_equal(folds, S.cv_folds(y, 5, seed=4))
    assert S.fold_count(y) == 5 and S.fold_count(np.array([0, 0, 0, 1, 1, 1])) == 3
    assert S.fold_count(np.array([0, 0, 0, 1])) == 0  # a class of one row cannot be held out and trained on


def _ds(n_train, n_val, classes=2):
    from edgernn.data.dataset import Dataset, Split

    def split(n):
        return Split(np.zeros((n, 4, 1), np.float32), np.arange(n) % classes)

    return Dataset("classify", {"train": split(n_train), "val": split(n_val), "test": split(4)},
                   [str(k) for k in range(classes)], "mem")


def test_select_auto_cross_validates_few_rows_only():
    from edgernn.train import select as S

    assert S.choose_select(None, _ds(30, 6)) == ("val", {"given": False})  # the default: cv is opt-in
    assert S.choose_select("auto", _ds(30, 6))[0] == "cv"  # ArrowHead's 36 rows
    assert S.choose_select("auto", _ds(80, 20))[0] == "cv"
    assert S.choose_select("auto", _ds(81, 20))[0] == "val"  # more than CV_MAX_ROWS
    assert S.choose_select("auto", _ds(2, 1))[0] == "val"  # one row per class
    assert S.choose_select("val", _ds(30, 6)) == ("val", {"given": True})
    assert S.choose_select("cv", _ds(300, 60))[0] == "cv"
    with pytest.raises(UserError, match="--select cv: a class has fewer than 2"):
        S.choose_select("cv", _ds(2, 1))
    with pytest.raises(UserError, match="--select must be one of"):
        S.check_select("kfold")


def test_refit_epochs_are_the_folds_median_kept_steps():
    from edgernn.train import select as S

    # lowest validation loss from min_epochs (2) on: epoch index 3, so 4 epochs; an earlier dip does not count
    assert S.kept_epochs({"loss": [1] * 6, "val_loss": [0.1, 0.9, 0.8, 0.5, 0.6, 0.7]}, 2) == 4
    assert S.kept_epochs({"loss": [3, 2, 1]}, 0) == 3  # no validation: the training loss
    assert S.refit_epochs([10, 30, 20], fold_steps=4, all_steps=5) == 16  # 20 epochs x 4 steps / 5 steps
    assert S.refit_epochs([1], 1, 10) == 1


def test_the_final_fit_stops_once_its_training_loss_is_down_to_the_target():
    from edgernn.tf import load
    from edgernn.train import select as S

    _, keras = load()

    class Model:
        stop_training = False

    cb = S.loss_target_callback(keras, 3, 0.5)
    cb.set_model(Model())
    for epoch, loss in enumerate([0.4, 0.45, 0.6, 0.5]):  # epochs 1, 2 are below target but too early
        cb.on_epoch_end(epoch, {"loss": loss})
        assert cb.model.stop_training == (epoch == 3)


@pytest.fixture(scope="module")
def cv_run(tmp_path_factory):
    """GRU-8 on 48 training + validation rows (--select auto: 5-fold cross-validation here), 2 candidate
    strengths at frame 10, at most 6 epochs each: (data, run folder, CLI output)."""
    tmp = tmp_path_factory.mktemp("cv")
    data = _long_npz(tmp / "d.npz")
    r = _cli("train", "--task", "classify", "--arch", "gru", "--units", 8, "--data", data, "--out", tmp / "run",
             "--frame", 10, "--augment-strength", "auto", "--epochs", 6, "--select", "auto")
    assert r.exit_code == 0, r.output
    return data, tmp / "run", r.output


def test_cv_scores_every_candidate_on_folds_then_trains_on_all_rows(cv_run):
    from edgernn.train.run import input_norm, normalize_series
    from edgernn.models.frame import stack_frames

    data, run, output = cv_run
    config = json.loads((run / "config.json").read_text())
    metrics = json.loads((run / "metrics.json").read_text())
    history = json.loads((run / "history.json").read_text())
    sel = config["selection"]
    assert config["select"] == "cv" and sel["folds"] == 5 and sel["select"]["rows"] == 48
    assert [c["augment_strength"] for c in sel["candidates"]] == [0.0, 1.0]
    for c in sel["candidates"]:
        assert len(c["fold_accuracy"]) == 5 and c["val_accuracy"] == pytest.approx(np.mean(c["fold_accuracy"]))
        assert len(c["kept_epochs"]) == 5 and all(1 <= e <= 6 for e in c["kept_epochs"])
    best = max(sel["candidates"], key=lambda c: (c["val_accuracy"], -c["val_loss"]))
    assert config["augment_strength"] == best["augment_strength"]
    # the final model: all 48 rows, the folds' median epochs, no validation split to stop on
    loss, target = history["loss"], sel["refit_loss_target"]
    assert config["epochs_run"] == len(loss) and sel["refit_epochs"] <= len(loss) <= config["epochs"] == 6
    assert all(v > target for v in loss[sel["refit_epochs"] - 1:-1])  # stopped at the first epoch down to it
    assert len(loss) == config["epochs"] or loss[-1] <= target
    best_kept = [c for c in sel["candidates"] if c["augment_strength"] == config["augment_strength"]][0]
    assert target == pytest.approx(np.median(best_kept["kept_train_loss"]))
    assert "val_loss" not in history
    z = np.load(data)
    rows = np.isin(z["split"], ["train", "val"])
    framed = stack_frames(normalize_series(z["X"][rows], read_config(run / "config.json")), 10)
    assert config["input_norm"]["mean"] == pytest.approx(input_norm(framed)["mean"])
    assert metrics["cv_accuracy"] == metrics["val_accuracy"] == best["val_accuracy"]
    assert "5-fold cross-validation" in output and "fold 5 of 5" in output


def test_select_val_trains_once_on_the_training_split(tmp_path):
    data = _long_npz(tmp_path / "d.npz")
    r = _cli("train", "--task", "classify", "--arch", "gru", "--units", 4, "--data", data, "--out", tmp_path / "run",
             "--frame", 10, "--augment-strength", 0, "--epochs", 3, "--select", "val")
    assert r.exit_code == 0, r.output
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    history = json.loads((tmp_path / "run" / "history.json").read_text())
    assert config["select"] == "val" and "val_loss" in history and "fold" not in r.output
    assert "cv_accuracy" not in json.loads((tmp_path / "run" / "metrics.json").read_text())


def test_select_cv_bad_input_is_one_error_line(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(12, 20, 1)).astype(np.float32)
    y = np.array([0] * 5 + [1] + [0, 1] * 3)  # class 1: one training row, no validation row
    split = np.array(["train"] * 6 + ["test"] * 6)
    np.savez(tmp_path / "d.npz", X=X, y=y, split=split)
    r = _cli("train", "--task", "classify", "--data", tmp_path / "d.npz", "--out", tmp_path / "run", "--select", "cv")
    _one_error_line(r, "--select cv: a class has fewer than 2")
    assert not (tmp_path / "run").exists()
    r = _cli("train", "--task", "anomaly", "--data", tmp_path / "x.csv", "--out", tmp_path / "run", "--select", "cv")
    _one_error_line(r, "--select applies to --task classify only")
