"""Anomaly detection on one real-style series: windows, --train-end, event-level scoring, warnings."""
from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from edgernn.cli import main
from edgernn.data.csv_series import dominant_period, load_csv_series, suggest_window
from edgernn.train import metrics as M
from tests.conftest import sine_series_csv


def test_dominant_period_and_suggested_window():
    t = np.arange(3000)
    assert dominant_period(np.sin(2 * np.pi * t / 57)[:, None])[0] in (56, 57, 58)
    s = suggest_window(np.sin(2 * np.pi * t / 200)[:, None])
    assert s["period"] in (199, 200, 201) and s["window"] == s["period"] and s["stride"] == s["window"] // 4
    noise = suggest_window(np.random.default_rng(0).normal(size=(3000, 1)))
    assert noise["period"] is None and noise["window"] == 64 and "no clear" in noise["why"]


def test_train_end_puts_every_labelled_anomaly_in_the_test_part(tmp_path):
    path = sine_series_csv(tmp_path / "s.csv")
    ds = load_csv_series(path, window="auto", train_end=600)
    assert ds.meta["window"] in (39, 40, 41) and ds.meta["warnings"] == []
    test = ds.splits["test"]
    assert test.row0 == 600 and len(test.series_labels) == 600 and test.series_labels.sum() == 20
    assert test.y.sum() > 0 and (test.y == 0).sum() > 0
    # the validation part is the last fifth of the known-normal rows
    assert len(ds.splits["val"]) > 0


def test_labelled_anomalies_left_out_of_the_test_part_are_reported(tmp_path):
    path = sine_series_csv(tmp_path / "s.csv", anomalies=((300, 310), (1000, 1010)))
    ds = load_csv_series(path, window=40, stride=20)  # 60/20/20: the first anomaly is in training
    assert len(ds.meta["warnings"]) == 1
    assert "11 labelled anomalous sample(s) in the train part (rows 300..310)" in ds.meta["warnings"][0]
    assert "--train-end" in ds.meta["warnings"][0]
    r = CliRunner().invoke(main, ["data", "info", str(path), "--window", "40"])
    assert r.exit_code == 0 and "warning: 11 labelled" in r.output and "suggested: --window" in r.output


@pytest.mark.parametrize("args, message", [
    (["--train-end", "5000"], "--train-end 5000 is outside the series"),
    (["--train-end", "0"], "--train-end 0 is outside the series"),
    (["--window", "5000"], "--window 5000 is longer than the series (1200 samples"),
    (["--window", "300", "--train-end", "1100"], "the test part has 100 samples, fewer than one window (300)"),
    (["--window", "abc"], "--window must be an integer or 'auto'"),
    (["--window", "1"], "--window must be an integer >= 2"),
    (["--stride", "0"], "Invalid value for '--stride'"),
])
def test_bad_window_and_train_end_are_one_line_errors(tmp_path, args, message):
    path = sine_series_csv(tmp_path / "s.csv")
    for cmd in (["data", "info", str(path)],
                ["train", "--task", "anomaly", "--data", str(path), "--out", str(tmp_path / "r")]):
        r = CliRunner().invoke(main, cmd + args)
        assert r.exit_code == 2, r.output
        assert message in r.output and "Traceback" not in r.output
    assert not (tmp_path / "r").exists()


def test_window_options_refused_for_other_tasks(tiny_npz, tmp_path):
    r = CliRunner().invoke(main, ["train", "--task", "classify", "--data", str(tiny_npz), "--out",
                                  str(tmp_path / "r"), "--window", "32"])
    assert r.exit_code == 2 and "--window applies to --task anomaly only" in r.output


def test_pr_auc_events_and_series_scores():
    assert M.pr_auc([0, 1, 0, 1], [0.1, 0.9, 0.2, 0.8]) == 1.0
    assert M.pr_auc([1, 0, 0, 1], [0.1, 0.9, 0.8, 0.2]) == pytest.approx((1 / 3 + 2 / 4) / 2)
    assert np.isnan(M.pr_auc([0, 0], [0.1, 0.2]))
    assert M.events([0, 1, 1, 0, 0, 1, 0]) == [(1, 2), (5, 5)]
    # two windows of 4 steps at 0 and 2 over a 6-sample series: per-sample mean of covering steps
    step = np.array([[1.0, 1.0, 3.0, 3.0], [5.0, 5.0, 1.0, 1.0]])
    assert np.allclose(M.series_scores(step, np.array([0, 2]), 7),
                       [1, 1, 4, 4, 1, 1, np.nan], equal_nan=True)


def test_event_metrics_top1_with_tolerance_and_event_precision_recall():
    labels = np.zeros(1000, dtype=int)
    labels[500:510] = 1
    scores = np.zeros(1000)
    scores[590] = 1.0  # 80 samples after the event: inside the 100-sample tolerance
    starts = np.arange(0, 1000 - 50 + 1, 25)
    wscores = np.where((starts >= 450) & (starts <= 500), 1.0, 0.0)
    ev = M.event_metrics(labels, scores, wscores, starts, 50, threshold=0.5, row0=2000)
    assert ev["top1_row"] == 2590 and ev["top1_hit"] and ev["event_rows"] == [[2500, 2509]]
    assert ev["event_recall"] == 1.0 and ev["event_precision"] == 1.0 and ev["flagged_regions"] == 1
    assert ev["top1_chance"] == pytest.approx(210 / 1000)
    scores[590], scores[800] = 0.0, 1.0  # 290 samples away: a miss
    wscores[-1] = 1.0  # a second flagged region far from the event
    ev = M.event_metrics(labels, scores, wscores, starts, 50, threshold=0.5)
    assert ev["top1_hit"] is False and ev["event_precision"] == 0.5


def test_notes_explain_undefined_figures():
    notes = M.anomaly_notes(np.zeros(30), n_threshold_normals=12)
    assert "no labelled anomalies (30 normal windows)" in notes[0] and "undefined" in notes[0]
    assert "only 12 normal validation windows" in notes[1]
    assert "no normal windows" in M.anomaly_notes(np.ones(5))[0]
    assert M.anomaly_notes(np.array([0, 1]), 500) == []


def test_anomaly_run_writes_options_series_scores_and_finds_the_event(tmp_path):
    path = sine_series_csv(tmp_path / "s.csv")
    r = CliRunner().invoke(main, ["train", "--task", "anomaly", "--arch", "gru", "--units", "8", "--epochs", "6",
                                  "--data", str(path), "--window", "auto", "--train-end", "600",
                                  "--out", str(tmp_path / "r")])
    assert r.exit_code == 0, r.output
    config = json.loads((tmp_path / "r" / "config.json").read_text())
    metrics = json.loads((tmp_path / "r" / "metrics.json").read_text())
    w = config["dataset_meta"]["window"]
    assert config["data_options"] == {"window": w, "stride": w // 4, "train_end": 600}  # auto resolved
    assert config["input_shape"][0] == w
    ev = metrics["events"]
    assert ev["events"] == 1 and ev["event_rows"] == [[900, 919]] and ev["top1_hit"], ev
    assert 0 <= metrics["pr_auc"] <= 1 and metrics["roc_auc"] > 0.5
    rows = (tmp_path / "r" / "series_scores.csv").read_text().splitlines()
    assert rows[0] == "row,label,score" and rows[1].startswith("600,0,") and len(rows) == 601


def test_anomaly_free_test_part_is_explained_not_a_bare_nan(tmp_path):
    path = sine_series_csv(tmp_path / "s.csv", anomalies=())
    r = CliRunner().invoke(main, ["train", "--task", "anomaly", "--arch", "gru", "--units", "4", "--epochs", "2",
                                  "--data", str(path), "--window", "40", "--out", str(tmp_path / "r")])
    assert r.exit_code == 0, r.output
    assert "edgernn: warning: the test part has no labelled anomalies" in r.output
    metrics = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert any("ROC-AUC and PR-AUC are undefined" in n for n in metrics["notes"])
