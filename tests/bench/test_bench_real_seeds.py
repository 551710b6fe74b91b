"""tools/bench_real.py: default and tuned sides measured as the mean over the same training seeds,
the grid's choice made on validation accuracy, and flagged runs shown in the table."""
from __future__ import annotations

import pytest

from tests.conftest import load_tool


@pytest.fixture(scope="module")
def bench():
    return load_tool("bench_real")


def _run(test, val, flagged=False, seed=0):
    return {"test": test, "val": val, "flagged": flagged, "epochs": 10 + seed, "batch": 8, "seconds": 1.0}


def test_over_seeds_is_the_mean_and_counts_flagged_runs(bench):
    side = bench.over_seeds([_run(0.5, 0.4, True), _run(0.7, 0.6), _run(0.9, 0.8, True)])
    assert side["test"] == pytest.approx(0.7) and side["val"] == pytest.approx(0.6)
    assert side["tests"] == [0.5, 0.7, 0.9] and side["flagged"] == 2 and side["runs"] == 3
    assert bench._guard(side) == "2/3W" and bench._guard({"flagged": 0, "runs": 3}) == "ok"
    assert bench._guard({"flagged": True}) == "WARN"  # rows of the earlier one-seed format


def test_grid_is_chosen_on_validation_and_both_sides_use_the_same_seeds(bench, tmp_path, monkeypatch):
    calls = []

    def fake_train_run(data, out, arch, **options):
        calls.append((out.name, options))
        seed = options["seed"]
        if "lr" not in options:  # default options
            return _run(0.60 + 0.01 * seed, 0.5, seed == 2, seed)
        # batch 32 / lr 1e-2 / patience 40 has the best validation accuracy but a poor test accuracy:
        # the choice must follow validation
        best = (options["batch_size"], options["lr"], options["patience"]) == (32, 1e-2, 40)
        return _run(0.10 if best else 0.99, 0.9 if best else 0.3, False, seed)

    monkeypatch.setattr(bench, "train_run", fake_train_run)
    monkeypatch.setattr(bench.api, "bundled", lambda name, path: None)
    monkeypatch.setattr(bench, "one_nn_ed", lambda arrays: 0.5)
    monkeypatch.setattr(bench.api, "load_bundled", lambda name: {})
    monkeypatch.setattr(bench, "ARCHS", ["gru"])
    (row,) = bench.classification(tmp_path, ["ArrowHead"], grid=True, seeds=3)
    assert row["tuned_cfg"] == (32, 1e-2, 40) and row["tuned"]["test"] == pytest.approx(0.10)
    assert row["default"]["test"] == pytest.approx(0.61) and row["default"]["flagged"] == 1
    seeds_default = [o["seed"] for n, o in calls if "lr" not in o]
    seeds_tuned = [o["seed"] for n, o in calls if o.get("lr") == 1e-2 and o.get("batch_size") == 32
                   and o.get("patience") == 40]
    assert seeds_default == [0, 1, 2] and seeds_tuned == [0, 1, 2]  # seed 0 of the grid is reused
    assert len(calls) == 3 + 8 + 2
    assert len({n for n, _ in calls}) == len(calls)  # every run has its own folder


def test_table_states_the_seeds_and_shows_warnings(bench, capsys):
    row = {"set": "ArrowHead", "arch": "gru", "seeds": 3, "ed_measured": 0.8,
           "default": bench.over_seeds([_run(0.4, 0.2, True)] * 3),
           "tuned": bench.over_seeds([_run(0.5, 0.5)] * 3), "tuned_cfg": (8, 0.01, 10)}
    bench.print_tables([row], [])
    out = capsys.readouterr().out
    assert "mean over 3 training seed(s) per side" in out
    line = next(x for x in out.splitlines() if x.startswith("ArrowHead"))
    assert "3/3W" in line and " ok " in line and "-10.0" in line and "recurrent: n/a" in line
