"""Outputs never destroy inputs (issue #30, item 4; docs/design/hardening-outputs.md).

Each data-destroying case of the issue is reproduced here and must now end in one error line with the
input intact; a generated test points every writing command's output at its own input.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from edgernn import api, io
from edgernn.cli import main
from edgernn.errors import UserError


def _cli(*args):
    r = CliRunner().invoke(main, [str(a) for a in args])
    errors = [ln for ln in r.output.splitlines() if ln.startswith("edgernn: error:")]
    return r, errors


def _refused(r, errors, fragment: str = "") -> None:
    assert r.exit_code == 2, r.output
    assert len(errors) == 1 and fragment in errors[0], r.output
    assert r.exception is None or isinstance(r.exception, SystemExit)


def _tree(root: Path) -> dict[str, str]:
    """Every file under ``root`` with its content hash: the snapshot an input must keep."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def run(tiny_runs, tmp_path_factory):
    """A fresh copy of the tiny GRU run for each test (tests here try to overwrite its files; on a version
    without the checks one test's damage must not make the next one fail for another reason)."""
    dst = tmp_path_factory.mktemp("outputs") / "gru"
    shutil.copytree(tiny_runs["gru"], dst, ignore=shutil.ignore_patterns("*.tflite", "quantize_*", "*.onnx"))
    return dst


@pytest.fixture
def anomaly_data(tmp_path):
    """A small dataset folder made by edgernn (so it carries edgernn's mark: only the overlap check stops it)."""
    return api.synth_anomaly(tmp_path / "data", seed=0, train_seconds=5, val_seconds=5, test_seconds=5)


def test_folders_edgernn_makes_carry_its_mark(anomaly_data, run):
    assert (anomaly_data / io.OWNER_MARK).is_file() and (run / io.OWNER_MARK).is_file()


# --- the data-destroying cases of the issue -------------------------------------------------------------------

@pytest.mark.parametrize("where", ["equal", "parent"])
def test_train_out_equal_to_or_containing_data_is_refused_even_with_overwrite(anomaly_data, where):
    before = _tree(anomaly_data)
    out = anomaly_data if where == "equal" else anomaly_data.parent
    r, errors = _cli("train", "--task", "anomaly", "--data", anomaly_data, "--out", out, "--overwrite", "--epochs", "1")
    _refused(r, errors, "input")
    assert _tree(anomaly_data) == before


def test_quantize_out_onto_the_runs_model_is_refused(run):
    before = _tree(run)
    r, errors = _cli("quantize", run, "--out", run / "model.keras")
    _refused(r, errors, "model.keras")
    assert _tree(run) == before


@pytest.mark.parametrize("name", ["config.json", "metrics.json", "model.keras"])
def test_eval_out_onto_a_file_the_run_owns_is_refused(run, name):
    before = _tree(run)
    r, errors = _cli("eval", run / "model.keras", "--out", run / name)
    _refused(r, errors)
    assert _tree(run) == before


def test_overwrite_never_deletes_an_unrelated_dot_old_folder(tmp_path):
    out = api.synth_anomaly(tmp_path / "d", seed=0, train_seconds=5, val_seconds=5, test_seconds=5)
    theirs = tmp_path / ".d.old"
    theirs.mkdir()
    (theirs / "notes.txt").write_text("keep me")
    api.synth_anomaly(out, seed=1, train_seconds=5, val_seconds=5, test_seconds=5, overwrite=True)
    assert (theirs / "notes.txt").read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".d.old", "d"]  # nothing of ours left behind


def test_overwrite_refuses_a_folder_edgernn_did_not_make(tmp_path):
    mine = tmp_path / "photos"
    mine.mkdir()
    (mine / "cat.jpg").write_bytes(b"\xff\xd8 a cat")
    r, errors = _cli("data", "synth-anomaly", mine, "--overwrite", "--train-seconds", "5")
    _refused(r, errors, "not a folder edgernn made")
    assert (mine / "cat.jpg").read_bytes() == b"\xff\xd8 a cat"


def test_eval_out_on_a_fifo_or_symlink_is_refused(run, tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    r, errors = _cli("eval", run / "model.keras", "--out", fifo)
    _refused(r, errors, "device, FIFO or socket")
    assert fifo.is_fifo()
    target = tmp_path / "elsewhere.json"
    target.write_text("{}")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    r, errors = _cli("eval", run / "model.keras", "--out", link)
    _refused(r, errors, "symbolic link")
    assert link.is_symlink() and target.read_text() == "{}"


def test_character_devices_are_never_replaced():
    # Checked without running a command: as root, a regression would replace /dev/null itself.
    for check in (lambda: io.check_out("/dev/null", "file"), lambda: io.atomic_write_bytes("/dev/null", b"x")):
        with pytest.raises(UserError, match="device, FIFO or socket"):
            check()
    assert Path("/dev/null").is_char_device()


def _bench_folder(folder: Path, rows: list) -> Path:
    folder.mkdir(parents=True)
    (folder / "results.json").write_text(json.dumps({"results": rows}))
    return folder


def _row(target: str, **extra) -> dict:
    return {"artifact": "runs/a/model.tflite", "runtime": "litert", "target": target, "file_bytes": 1000,
            "latency_ms": {"p50": 1.0, "p99": 2.0}, "accuracy": 0.9, **extra}


def test_report_target_names_cannot_leave_out(tmp_path):
    bench = _bench_folder(tmp_path / "a" / "b" / "bench", [_row("../../../../escaped"), _row("cpu")])
    out = tmp_path / "a" / "b" / "report"
    r, errors = _cli("report", bench, "--out", out)
    assert r.exit_code == 0, r.output
    assert not (tmp_path / "a" / "escaped").exists() and not (tmp_path / "escaped").exists()
    written = sorted(p.name for p in out.iterdir())
    assert "pareto_cpu.png" in written and all("/" not in n and not n.startswith(".") for n in written)
    pngs = [p for p in tmp_path.rglob("*.png")]
    assert all(p.parent == out for p in pngs), pngs  # every plot inside --out
    assert "escaped" in (out / "report.md").read_text()  # the target is still named in the text


@pytest.mark.parametrize("rows, fragment", [
    ([{"artifact": "x"}], "result row 0"),
    ([_row("cpu", file_bytes="big")], "file_bytes"),
    ([_row("cpu", latency_ms={"p50": "fast"})], "latency_ms"),
    ([_row("cpu", accuracy=float("nan"))], "accuracy"),
    (["not a row"], "not an object"),
    ([_row(["cpu"])], "target"),
    ([_row("cpu")] * 20_000, "at most"),
])
def test_report_malformed_or_huge_results_are_one_error_line(tmp_path, rows, fragment):
    bench = _bench_folder(tmp_path / "bench", rows)
    r, errors = _cli("report", bench, "--out", tmp_path / "report")
    _refused(r, errors, fragment)
    assert not (tmp_path / "report").exists()


def test_report_out_equal_to_its_input_folder_is_refused(tmp_path):
    bench = _bench_folder(tmp_path / "bench", [_row("cpu")])
    before = _tree(bench)
    r, errors = _cli("report", bench, "--out", bench)
    _refused(r, errors, "input")
    assert _tree(bench) == before


def test_remote_dir_dotdot_creates_nothing_outside_and_keeps_a_preexisting_folder(run, sshd, tmp_path):  # noqa: F811
    model = api.quantize(run, mode="int8", calibration_samples=20, out=tmp_path / "m.tflite")
    a, b = tmp_path / "A", tmp_path / "B"
    a.mkdir()
    (b / "victim").mkdir(parents=True)  # empty, and not ours
    rows = api.bench([model], target="rpi", runtimes=["litert"], limit=0, warmup=1, runs=3, repeats=1,
                     progress=False, **dict(sshd, remote_dir=f"{a}/new/../../B/victim"))
    assert rows[0]["error"] is None
    assert not (a / "new").exists()  # '..' resolved before any folder was made
    assert (b / "victim").is_dir() and list((b / "victim").iterdir()) == []


def test_remote_dir_removes_every_folder_it_created_and_only_those(run, sshd, tmp_path):  # noqa: F811
    model = api.quantize(run, mode="int8", calibration_samples=20, out=tmp_path / "m.tflite")
    (tmp_path / "top").mkdir()
    api.bench([model], target="rpi", runtimes=["litert"], limit=0, warmup=1, runs=3, repeats=1, progress=False,
              **dict(sshd, remote_dir=str(tmp_path / "top" / "x" / "y" / "z")))
    assert (tmp_path / "top").is_dir() and list((tmp_path / "top").iterdir()) == []


# --- names too long for the file system ----------------------------------------------------------------------

@pytest.mark.parametrize("args", [
    ["data", "synth-anomaly", "{long}"],
    ["data", "synth-anomaly", "{tmp}/{name}/x"],
    ["eval", "{model}", "--out", "{tmp}/{name}.json"],
    ["report", "{tmp}", "--out", "{tmp}/{name}"],
])
def test_names_too_long_for_the_file_system_are_one_error_line(run, tmp_path, args):
    values = {"long": str(tmp_path / ("d" * 300)), "tmp": str(tmp_path), "name": "n" * 300,
              "model": str(run / "model.keras")}
    r, errors = _cli(*[a.format(**values) for a in args])
    _refused(r, errors, "too long")


# --- every writing command goes through the one check: output = input is refused for each ---------------------

def _writing_commands():
    """(command path, click command) of every command with an output path option or argument."""
    out = []

    def walk(cmd, path):
        for name, sub in getattr(cmd, "commands", {}).items():
            walk(sub, [*path, name])
        if not getattr(cmd, "commands", None) and any(p.name in ("out",) for p in cmd.params):
            out.append((" ".join(path), cmd))
    walk(main, [])
    return out


# For each writing command: arguments that name an input, with {out} where the output goes and {input} the
# input the output is pointed at. A new writing command without a case here fails the completeness test.
SAME_AS_INPUT = {
    "data synth-kws": None,        # reads no input
    "data synth-anomaly": None,
    "data bundled": None,
    "train": ["train", "--task", "anomaly", "--data", "{data}", "--out", "{data}", "--overwrite"],
    "prune": ["prune", "{run}", "--out", "{run}", "--overwrite"],
    "quantize": ["quantize", "{run}", "--out", "{run}/model.keras"],
    "export": ["export", "{run}", "--format", "onnx", "--out", "{run}/config.json"],
    "eval": ["eval", "{run}/model.keras", "--out", "{run}/config.json"],
    "bench": ["bench", "{run}/model.keras", "--out", "{run}", "--limit", "0"],
    "report": ["report", "{bench}", "--out", "{bench}"],
    "firmware build": ["firmware", "build", "{tflite}", "--out", "{tflite}"],
    "compare": ["compare", "--data", "{data}", "--task", "anomaly", "--out", "{data}", "--overwrite"],
    "sweep": ["sweep", "--data", "{data}", "--task", "anomaly", "--out", "{data}"],
}


def test_every_writing_command_has_an_output_equals_input_case():
    assert sorted(name for name, _ in _writing_commands()) == sorted(SAME_AS_INPUT)


@pytest.mark.parametrize("name", sorted(k for k, v in SAME_AS_INPUT.items() if v))
def test_output_equal_to_input_is_refused_for_every_writing_command(name, run, anomaly_data, tmp_path):
    bench = _bench_folder(tmp_path / "bench", [_row("cpu")])
    tflite = tmp_path / "m.tflite"
    tflite.write_bytes(b"TFL3 not really")
    values = {"run": run, "data": anomaly_data, "bench": bench, "tflite": tflite}
    watched = [run, anomaly_data, bench]
    before = [_tree(p) for p in watched] + [tflite.read_bytes()]
    r, errors = _cli(*[a.format(**values) for a in SAME_AS_INPUT[name]])
    _refused(r, errors)
    assert [_tree(p) for p in watched] + [tflite.read_bytes()] == before


def test_check_out_refuses_equal_inside_and_containing(tmp_path):
    data = tmp_path / "data"
    (data / "sub").mkdir(parents=True)
    for out, word in ((data, "is the input"), (data / "sub" / "o", "inside the input"), (tmp_path, "contains")):
        with pytest.raises(UserError, match=word):
            io.check_out(out, "folder", inputs=[data])
    io.check_out(tmp_path / "elsewhere", "folder", inputs=[data])  # a sibling is fine
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]  # the check wrote nothing
