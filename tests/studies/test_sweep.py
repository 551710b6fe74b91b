"""edgernn sweep: search space, constraints, Pareto selection, bad input; and on a real Ray
cluster of two nodes (head + worker started with `ray start` on loopback): a tiny sweep spread
over both nodes, a trial whose worker process is killed mid-trial, and a resume that does no work."""
from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from edgernn.cli import main
from edgernn.errors import UserError
from edgernn.studies import sweep as S

REPO = Path(__file__).resolve().parents[2]


# ------------------------------------------------------------ planning and selection (no Ray)

def test_sizes_read_like_datasheets():
    assert S.parse_size("64KB", "--max-flash") == 65536 and S.parse_size("16KiB", "x") == 16384
    assert S.parse_size("1MB", "x") == 1 << 20 and S.parse_size("20000", "x") == 20000 and S.parse_size(None, "x") is None
    for bad in ("lots", "-4KB", "0", "12 parsecs"):
        with pytest.raises(UserError):
            S.parse_size(bad, "--max-ram")


def test_grid_and_random_plans():
    space = S.search_space("kws", arch="gru,lstm", units="8,16,32", layers="1,2", sparsity="0,0.5", quant="int8")
    grid = S.plan_trials(space, "grid")
    assert len(grid) == 2 * 3 * 2 * 2 and len({json.dumps(g, sort_keys=True) for g in grid}) == len(grid)
    rnd = S.plan_trials(space, "random", trials=10, seed=3)
    assert len(rnd) == 10 and all(r in grid for r in rnd) and len({json.dumps(r, sort_keys=True) for r in rnd}) == 10
    assert rnd == S.plan_trials(space, "random", trials=10, seed=3) != S.plan_trials(space, "random", trials=10, seed=4)
    assert S.plan_trials(space, "random", trials=500) and len(S.plan_trials(space, "random", trials=500)) == len(grid)
    anomaly = S.search_space("anomaly", arch="lstm", units="8", window="32,64")
    assert [p["window"] for p in S.plan_trials(anomaly)] == [32, 64]


def test_trial_ids_are_stable_and_shaped_by_settings():
    settings = {"task": "kws", "data": "/d", "epochs": 3, "prune_epochs": 2, "seed": 0, "board": "mps2-an386",
                "mcu_vectors": 2, "cpu_runs": 50}
    p = {"arch": "gru", "units": 16, "layers": 1, "sparsity": 0.5, "quant": "int8"}
    assert S.trial_id(p, settings) == S.trial_id(dict(p), dict(settings))
    assert S.trial_id(p, settings).startswith("gru16x1-s0.5-int8-")
    assert S.trial_id(p, dict(settings, epochs=4)) != S.trial_id(p, settings)
    assert S.trial_id(p, dict(settings, cpu_runs=9)) == S.trial_id(p, settings)  # timing detail, not the design


@pytest.mark.parametrize("kwargs,message", [
    ({"units": ""}, "--units is empty"),
    ({"arch": " , "}, "--arch is empty"),
    ({"units": "0,8"}, "--units must be between 1 and 1024"),
    ({"layers": "9"}, "--layers must be between 1 and 8"),
    ({"sparsity": "1.0"}, "impossible"),
    ({"arch": "transformer"}, "unknown arch 'transformer'"),
    ({"quant": "int4"}, "unknown mode 'int4'"),
    ({"window": "32"}, "--window applies to anomaly data only"),
    ({"units": "many"}, "cannot read"),
])
def test_impossible_spaces_are_user_errors(kwargs, message):
    with pytest.raises(UserError, match=message):
        S.search_space("kws", **kwargs)


def _rec(tid, acc, flash, ram, ms, status="ok", arch="gru"):
    return {"id": tid, "status": status, "reason": None if status == "ok" else "boom", "params": {"arch": arch},
            "figures": {"metric": "accuracy", "accuracy": acc, "flash_bytes": flash, "ram_bytes": ram,
                        "mcu_latency_ms": ms}}


def test_selection_meets_constraints_and_reports_the_closest_otherwise():
    recs = [_rec("big", 0.95, 90_000, 9_000, 30.0), _rec("mid", 0.90, 40_000, 4_000, 12.0),
            _rec("small", 0.80, 20_000, 2_000, 4.0), _rec("broken", 0.99, 1, 1, 0.1, status="failed")]
    c = {"max_flash_bytes": 65536, "max_ram_bytes": 16384, "max_latency_ms": 20.0}
    s = S.summarize(recs, c, "mps2-an386", "kws")
    assert s["best"]["id"] == "mid" and s["meeting_constraints"] == 2 and s["failed"] == [{"id": "broken", "reason": "boom"}]
    tight = {"max_flash_bytes": 10_000, "max_ram_bytes": None, "max_latency_ms": None}
    s = S.summarize(recs, tight, "mps2-an386", "kws")
    assert s["best"] is None and s["closest"][0]["id"] == "small"
    assert s["closest"][0]["misses"]["flash_bytes"] == pytest.approx(1.0)
    msg = S.no_fit_message(s, tight)
    assert "no trial meets the constraints" in msg and "small (flash_bytes +100%)" in msg and "\n" not in msg


def test_pareto_front():
    pts = [(1.0, 0.5), (2.0, 0.7), (3.0, 0.6), (4.0, 0.9), (0.5, 0.4)]
    from edgernn.bench.report import pareto_front  # the one Pareto front: bench report and sweep

    assert [pts[i] for i in pareto_front(pts)] == [(0.5, 0.4), (1.0, 0.5), (2.0, 0.7), (4.0, 0.9)]


def _free_port() -> int:
    from edgernn.studies.loopback import free_port

    return free_port()


@pytest.mark.parametrize("args,message", [
    (["--units", ""], "--units is empty"),
    (["--sparsity", "2"], "impossible"),
    (["--max-flash", "big"], "--max-flash: cannot read"),
    (["--quant", "float16", "--max-ram", "16KB"], "add int8 to --quant"),
    (["--address", "nohost"], "expected HOST:PORT"),
])
def test_cli_bad_input_is_one_line_exit_2(tiny_npz, tmp_path, args, message):
    r = CliRunner().invoke(main, ["sweep", "--data", str(tiny_npz), "--task", "classify", "--out", str(tmp_path / "s"),
                                  *args])
    assert r.exit_code == 2 and message in r.output and r.output.count("\n") == 1, r.output


def test_out_must_be_a_sweep_folder(tiny_npz, tmp_path):
    (tmp_path / "file").write_text("x")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    for out, message in ((tmp_path / "file", "is not a folder"), (tmp_path / "mine", "not a sweep")):
        r = CliRunner().invoke(main, ["sweep", "--data", str(tiny_npz), "--task", "classify", "--out", str(out)])
        assert r.exit_code == 2 and message in r.output and r.output.count("\n") == 1, r.output
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


def test_unreachable_address_fails_fast(tiny_npz, tmp_path):
    start = time.time()
    r = CliRunner().invoke(main, ["sweep", "--data", str(tiny_npz), "--task", "classify", "--out", str(tmp_path / "s"),
                                  "--address", f"127.0.0.1:{_free_port()}"])
    assert r.exit_code == 2 and "cannot reach a Ray cluster at 127.0.0.1:" in r.output and r.output.count("\n") == 1
    assert time.time() - start < 30 and not (tmp_path / "s" / "trials").exists()


def _record_and_interrupt(record_first: int):
    """A stand-in for Ray's part (run_pending): records the first trials as failed, then is interrupted."""
    def run_pending(pending, settings, out, *args):
        for tid, params in pending[:record_first]:
            S._record(out, tid, params, {"status": "failed", "reason": "stand-in", "figures": {}, "files": {}}, [])
        if record_first < len(pending):
            raise KeyboardInterrupt
        return {"nodes": []}
    return run_pending


def test_a_sweep_interrupted_before_any_trial_leaves_nothing(tiny_npz, tmp_path, monkeypatch):
    monkeypatch.setattr(S, "run_pending", _record_and_interrupt(0))
    out = tmp_path / "sweep"
    with pytest.raises(KeyboardInterrupt):
        S.sweep(tiny_npz, task="classify", out=out, arch="gru", units="4,8", progress=False)
    assert list(tmp_path.iterdir()) == [tiny_npz]


def test_a_sweep_interrupted_after_a_trial_is_resumed_by_the_same_command(tiny_npz, tmp_path, monkeypatch):
    """It wrote sweep.json only at its end, so the re-run refused the folder as "not a sweep"."""
    out = tmp_path / "sweep"
    monkeypatch.setattr(S, "run_pending", _record_and_interrupt(1))
    with pytest.raises(KeyboardInterrupt):
        S.sweep(tiny_npz, task="classify", out=out, arch="gru", units="4,8", progress=False)
    assert len(S.load_done(out)) == 1 and (out / "sweep.json").is_file()
    monkeypatch.setattr(S, "run_pending", _record_and_interrupt(99))
    with pytest.raises(UserError, match="no usable trial: 2 failed"):  # both stand-in trials "failed"
        S.sweep(tiny_npz, task="classify", out=out, arch="gru", units="4,8", progress=False)
    sessions = json.loads((out / "sweep.json").read_text())["sessions"]
    assert [(s["trials_run"], s["trials_already_done"]) for s in sessions] == [(1, 1)]


# ------------------------------------------------------------ a real two-node Ray cluster on loopback

@pytest.fixture(scope="module")
def ray_cluster(tmp_path_factory):
    from edgernn.studies.loopback import loopback_cluster

    with loopback_cluster(nodes=2, cpus_per_node=1, pythonpath=str(REPO),
                          log_dir=tmp_path_factory.mktemp("raylogs")) as cluster:
        yield cluster


SWEEP = dict(task="classify", arch="gru,lstm", units="4,8", layers="1", sparsity="0", quant="int8", epochs=20,
             progress=False, max_flash="64KB", max_ram="16KB")


@pytest.mark.slow
def test_sweep_runs_across_two_nodes_and_resumes_without_work(ray_cluster, tiny_data, tmp_path):
    from edgernn import api

    out = tmp_path / "sweep"
    s = api.sweep(tiny_data, out=out, address=ray_cluster["address"], **SWEEP)
    assert s["trials"] == 4 and s["ok"] + len(s["failed"]) + len(s["did_not_learn"]) == 4
    assert len(s["nodes_used"]) == 2, s["nodes_used"]  # both nodes ran trials
    assert s["best"] and s["best"]["flash_bytes"] <= 65536 and s["best"]["ram_bytes"] <= 16384
    best = json.loads((out / "best" / "trial.json").read_text())
    assert best["id"] == s["best"]["id"] and (out / "best" / "model_int8.tflite").is_file()
    for name in ("trials.csv", "trials.json", "summary.md", "summary.json", "results.json", "pareto_mcu_mps2-an386.png",
                 "pareto_cpu.png"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    assert len((out / "trials.csv").read_text().strip().splitlines()) == 5
    # the summary is `report`-compatible: edgernn report reads the sweep folder
    r = CliRunner().invoke(main, ["report", str(out), "--out", str(tmp_path / "report")])
    assert r.exit_code == 0 and "mcu:mps2-an386" in (tmp_path / "report" / "report.md").read_text(), r.output
    # the same command again: every trial is recorded, so nothing runs (Ray is not even started)
    start = time.time()
    again = api.sweep(tiny_data, out=out, address="127.0.0.1:1", **SWEEP)  # an unreachable address proves it
    assert again["session"]["trials_run"] == 0 and again["session"]["trials_already_done"] == 4
    assert again["best"]["id"] == s["best"]["id"] and time.time() - start < 30
    # tighter constraints re-select from the recorded trials and report the closest ones
    with pytest.raises(UserError, match="no trial meets the constraints.*closest: "):
        api.sweep(tiny_data, out=out, **dict(SWEEP, max_flash="1KB"))
    assert not (out / "best").exists()


def _trial_workers(roots: set[int]) -> list[int]:
    """PIDs of Ray worker processes running a trial (process title ray::run_trial) in our cluster."""
    from edgernn.studies.loopback import descendants

    pids = []
    for pid in sorted(descendants(roots)):
        try:
            if Path(f"/proc/{pid}/cmdline").read_bytes().startswith(b"ray::run_trial"):
                pids.append(pid)
        except OSError:
            continue
    return pids


@pytest.mark.slow
def test_killing_a_trials_worker_is_retried_and_recorded(ray_cluster, tiny_data, tmp_path):
    from edgernn import api

    killed = []

    def killer():
        deadline = time.time() + 300
        while time.time() < deadline and not killed:
            pids = _trial_workers(ray_cluster["roots"])
            if pids:
                time.sleep(3)  # mid-trial, not at its first instruction
                if pids[0] in _trial_workers(ray_cluster["roots"]):
                    os.kill(pids[0], signal.SIGKILL)
                    killed.append(pids[0])
            time.sleep(0.5)

    t = threading.Thread(target=killer, daemon=True)
    t.start()
    out = tmp_path / "sweep"
    s = api.sweep(tiny_data, out=out, address=ray_cluster["address"], retries=1,
                  **dict(SWEEP, arch="gru", units="4,8"))
    t.join(timeout=10)
    assert killed, "no trial worker was seen running"
    recs = [json.loads(f.read_text()) for f in (out / "trials").glob("*/trial.json")]
    assert len(recs) == 2 and s["trials"] == 2
    hit = [r for r in recs if r["crashes"]]
    assert len(hit) == 1 and hit[0]["attempts"] == 2 and hit[0]["crashes"][0]  # the crash is recorded, with its error
    assert hit[0]["status"] in ("ok", "failed", "did_not_learn") and hit[0]["pid"] != killed[0]  # retried elsewhere


def test_a_failed_trial_is_recorded_not_raised(tmp_path):
    """run_trial never raises: a design the pipeline rejects comes back with its reason."""
    bad = tmp_path / "bad.npz"
    np.savez(bad, X=np.zeros((6, 4, 2), np.float32), y=np.array([0, 1] * 3))
    r = S.run_trial({"arch": "gru", "units": 4, "layers": 1, "sparsity": 0.0, "quant": "int8"},
                    {"task": "classify", "data": str(bad), "epochs": 1, "prune_epochs": 1, "seed": 0,
                     "board": "mps2-an386", "mcu_vectors": 2, "cpu_runs": 5})
    assert r["status"] == "failed" and r["reason"] and r["files"] == {} and r["node_id"] is None


@pytest.mark.slow
def test_anomaly_window_is_a_design_axis(tmp_path):
    """--window cuts the anomaly windows the trial trains, quantizes and measures on (kept in config.json)."""
    from edgernn import api

    data = api.synth_anomaly(tmp_path / "a", seed=0, train_seconds=30, val_seconds=10, test_seconds=30)
    r = S.run_trial({"arch": "lstm", "units": 8, "layers": 1, "sparsity": 0.0, "quant": "int8", "window": 32},
                    {"task": "anomaly", "data": str(data), "epochs": 1, "prune_epochs": 1, "seed": 0,
                     "board": "mps2-an386", "mcu_vectors": 2, "cpu_runs": 5})
    assert r["status"] == "ok", r["reason"]
    config = json.loads(r["files"]["config.json"])
    assert config["input_shape"][0] == 32 and config["data_options"] == {"window": 32, "stride": 16}
    assert r["figures"]["metric"] == "roc_auc" and 0 <= r["figures"]["accuracy"] <= 1
    assert r["figures"]["flash_bytes"] > 0 and r["figures"]["mcu_latency_ms"] > 0


@pytest.mark.slow
def test_local_ray_by_default_through_the_cli(tiny_data, tmp_path):
    """Without --address: a fresh local Ray instance; the CLI prints the chosen trial and writes the folder."""
    out = tmp_path / "sweep"
    args = ["sweep", "--data", str(tiny_data), "--task", "classify", "--out", str(out), "--arch", "gru", "--units", "8",
            "--epochs", "20", "--num-cpus", "1", "--max-flash", "64KB"]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    assert "chosen: gru8x1-s0-int8-" in r.output and (out / "best" / "model_int8.tflite").is_file()
    sweep = json.loads((out / "sweep.json").read_text())
    assert sweep["sessions"][-1]["address"] == "local" and len(sweep["sessions"][-1]["nodes"]) == 1
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0 and "this run: 0 trials" in r.output, r.output


def test_no_usable_trial_names_failures_and_unlearned():
    recs = [_rec("a", 0.1, 1, 1, 1.0, status="failed"), _rec("b", 0.1, 1, 1, 1.0, status="did_not_learn")]
    s = S.summarize(recs, {"max_flash_bytes": None, "max_ram_bytes": None, "max_latency_ms": None}, "mps2-an386", "kws")
    msg = S.no_fit_message(s, s["constraints"])
    assert s["best"] is None and "1 failed, 1 did not learn" in msg and "a: boom" in msg
