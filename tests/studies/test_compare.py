"""edgernn compare: budget matching, the report, and bad inputs."""
import json

import numpy as np
import pytest
from click.testing import CliRunner

from edgernn import api
from edgernn.records import Architecture
from edgernn.studies.compare import BUDGET_FN, long_dependency_data, match_units
from edgernn.cli import main
from edgernn.data import load_dataset

KWS = Architecture(task="kws", arch="gru", units=64, layers=1, input_shape=[49, 10],
                   class_names=[str(k) for k in range(12)])


@pytest.mark.parametrize("budget", ["params", "size", "macs"])
@pytest.mark.parametrize("units", [16, 32, 64, 128])
def test_budget_matching_within_5_percent(budget, units):
    lstm_units, diff = match_units(KWS, budget, "gru", units, "lstm")
    fn = BUDGET_FN[budget]
    gru = fn(KWS.model_copy(update={"arch": "gru", "units": units}))
    lstm = fn(KWS.model_copy(update={"arch": "lstm", "units": lstm_units}))
    assert abs(lstm - gru) / gru <= 0.05 and diff == pytest.approx((lstm - gru) / gru)
    assert lstm_units < units  # an LSTM unit costs more than a GRU unit on every budget


def test_int8_weight_bytes_counts_int32_biases():
    from edgernn.models import build_classifier
    model = build_classifier("gru", 8, 1, (5, 3), 4)
    config = Architecture(task="classify", arch="gru", units=8, layers=1, input_shape=[5, 3], class_names=list("abcd"))
    weights = sum(int(w.shape.num_elements()) for w in model.weights if "bias" not in w.name)
    biases = sum(int(w.shape.num_elements()) for w in model.weights if "bias" in w.name)
    assert BUDGET_FN["size"](config) == weights + 4 * biases


def test_long_dependency_task_is_answered_by_the_first_steps_only(tmp_path):
    from edgernn.studies.compare import CUE_STEPS

    ds = load_dataset(long_dependency_data(tmp_path / "d.npz", steps=30, n=400))
    X, y = ds.splits["train"].X, ds.splits["train"].y
    for t in range(CUE_STEPS):
        assert (X[:, t, :].argmax(axis=1) == y).all()  # every cue step names the class
    later = X[:, CUE_STEPS:, :].mean(axis=1)
    assert all(abs(np.corrcoef(later[:, f], y)[0, 1]) < 0.2 for f in range(4))  # the rest carries nothing


def test_resample_time_keeps_end_points_and_interpolates():
    from edgernn.studies.compare import resample_time
    X = np.arange(2 * 3 * 1, dtype=np.float32).reshape(2, 3, 1)  # 0,1,2 and 3,4,5
    Y = resample_time(X, 5)
    np.testing.assert_allclose(Y[:, :, 0], [[0, 0.5, 1, 1.5, 2], [3, 3.5, 4, 4.5, 5]])


def test_compare_report(tiny_data, tmp_path):
    folder = api.compare(tiny_data, task="classify", units=8, seeds=2, targets="cpu", seq_lens="8,16", out=tmp_path / "c",
                         epochs=2, seq_epochs=1, seq_samples=120, user_seq_lens="24", progress=False,
                         prune_sparsities=None)
    r = json.loads((folder / "comparison.json").read_text())
    assert {"recommendation", "summary", "models", "seq_len_study", "budget_match", "seconds"} <= set(r)
    assert len(r["models"]) == 4 and {m["arch"] for m in r["models"]} == {"gru", "lstm"}
    for arch in ("gru", "lstm"):
        s = r["summary"][arch]
        assert s["float"]["n"] == 2 and s["latency_ms"]["cpu"]["mean"] > 0 and s["int8_bytes"]["mean"] > 0
    assert {(p["arch"], p["steps"]) for p in r["seq_len_study"]} == {("gru", 8), ("lstm", 8), ("gru", 16), ("lstm", 16)}
    assert {(p["arch"], p["steps"]) for p in r["user_data_seq_len_study"]} == {("gru", 24), ("lstm", 24)}
    assert r["user_data_steps"] == 12
    md = (folder / "report.md").read_text()
    assert "Your data resampled in time (originally 12 steps" in md and "float32 weights, bytes" in md
    assert md.splitlines()[2].startswith("**Recommendation:") and "mean ± std" in md
    for png in ("accuracy_tradeoffs.png", "training_curves.png", "seq_len.png"):
        assert (folder / png).stat().st_size > 1000


@pytest.mark.parametrize("args, message", [
    (["--budget", "flops"], "Invalid value for '--budget'"),
    (["--targets", "gpu"], "unknown target 'gpu'"),
    (["--targets", "mcu:esp32"], "unknown board 'esp32'"),
    (["--seeds", "0"], "Invalid value for '--seeds'"),
    (["--seq-lens", "50,x"], "--seq-lens must be comma-separated integers >= 2"),
])
def test_bad_inputs_exit_2(tiny_data, tmp_path, args, message):
    r = CliRunner().invoke(main, ["compare", "--data", str(tiny_data), "--task", "classify", "--out", str(tmp_path / "c"),
                                  *args])
    assert r.exit_code == 2, r.output
    assert message in r.output
    assert not (tmp_path / "c").exists()
