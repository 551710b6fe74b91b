"""tools/bench_real.py, anomaly part: the train end follows the archive's known-normal boundary where it
gives one and a fixed 40% otherwise; a series without labelled anomalies is listed, never trained or scored."""
from __future__ import annotations

import json
from types import SimpleNamespace
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import load_tool

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bench():
    return load_tool("bench_real")


def test_series_in_the_benchmark(bench):
    assert bench.ANOMALY_SETS == ["yahoo", "mitdb", "ucr135", "daphnet"]
    assert {"PickupGestureWiimoteZ", "UnitTest"} <= set(bench.SETS)


def test_train_end_rule_and_unlabelled_series(bench, tmp_path, monkeypatch, capsys):
    def fake_bundled(name, path):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("value,label\n" + "1.0,0\n" * 1000)

    labelled = {"a": True, "b": True, "c": False}
    trained = []

    def fake_train(task, arch, units, data, out, overwrite, progress, data_options):
        trained.append((Path(data).stem, data_options["train_end"]))
        out.mkdir(parents=True)
        (out / "metrics.json").write_text(json.dumps({
            "roc_auc": 0.9, "pr_auc": 0.5, "guard": {"did_not_learn": False},
            "events": {"top1_row": 700, "top1_hit": True, "top1_chance": 0.1, "event_rows": [[690, 700]]}}))
        (out / "config.json").write_text(json.dumps({"data_options": {"window": 50, "stride": 12}}))
        return out

    monkeypatch.setattr(bench.api, "bundled", fake_bundled)
    monkeypatch.setattr(bench.api, "bundled_train_end", lambda name: 300 if name == "b" else None)
    monkeypatch.setattr(bench.api, "load_bundled",
                        lambda name: {"label": np.array([0, int(labelled[name]), 0])})
    monkeypatch.setattr(bench.api, "train", fake_train)
    # the fake run's config.json holds only the windows: read them without the whole-record validation
    monkeypatch.setattr(bench, "read_config", lambda path: SimpleNamespace(
        data_options=SimpleNamespace(**json.loads(Path(path).read_text())["data_options"])))
    rows = bench.anomaly(tmp_path, ["a", "b", "c"])
    assert trained == [("a", 400), ("b", 300)]  # 40% of 1000 rows; the archive's boundary; c not trained
    assert [(r["train_end"], r["rule"]) for r in rows] == [(400, "40%"), (300, "archive"), (400, "40%")]
    assert rows[2]["note"] == "no labelled anomaly" and rows[0]["top1_hit"] is True
    capsys.readouterr()
    bench.print_tables([], rows)
    table = capsys.readouterr().out
    assert "400 (40%)" in table and "300 (archive)" in table
    assert "no labelled anomaly: not scored" in table


def _row(name, arch, default, tuned):
    return {"set": name, "arch": arch, "default": {"test": default}, "tuned": {"test": tuned}}


def test_target_summary_counts_sets_where_both_models_hold(bench):
    rows = [_row("JapaneseVowels", "gru", 0.95, 0.96), _row("JapaneseVowels", "lstm", 0.97, 0.96),
            _row("A", "gru", 0.50, 0.52), _row("A", "lstm", 0.50, 0.53),  # LSTM 3 points short
            *[_row(n, a, 0.9, 0.9) for n in "BCDE" for a in ("gru", "lstm")]]
    text = bench.target_summary(rows)
    assert "5 of 6 sets" in text and "missed: A" in text and "variable-length among them: JapaneseVowels" in text
    assert text.endswith("met")
    # without the variable-length set the target is missed although 4 other sets hold
    assert bench.target_summary(rows[2:]).endswith("MISSED")


def test_joined_tables_keep_the_last_measurement_of_a_set(bench):
    rows = [{"set": "yahoo", "roc_auc": 0.1}, _row("A", "gru", 0.5, 0.5), {"set": "yahoo", "roc_auc": 0.9}]
    assert bench.latest_rows(rows) == [{"set": "yahoo", "roc_auc": 0.9}, rows[1]]


def test_summaries_name_incomplete_sets_and_telling_top1_hits(bench):
    text = bench.target_summary([_row("U", "gru", 0.9, 0.9)])
    assert "0 of 1 sets" in text and "missed: none" in text and "not all models run: U" in text
    anom = [{"set": "y", "top1_hit": True, "top1_chance": 0.91}, {"set": "m", "top1_hit": True, "top1_chance": 0.12},
            {"set": "u", "top1_hit": False, "top1_chance": 0.03}, {"set": "d", "note": "no labelled anomaly"}]
    assert bench.anomaly_summary(anom) == "top-1 hit on 2 of 3 labelled series (y, m); with chance < 50%: 1 (m)"


def test_missing_wheel_is_one_line_from_the_script(tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "EDGERNN_WHEELS": str(tmp_path / "none"), "PYTHONPATH": str(REPO)}
    r = subprocess.run([sys.executable, str(REPO / "tools" / "bench_real.py"), "--out", str(tmp_path / "b"),
                        "--sets", "PickupGestureWiimoteZ", "--no-grid", "--seeds", "1", "--no-anomaly"],
                       capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "pip download --no-deps --only-binary=:all: aeon==1.6.0" in r.stderr
