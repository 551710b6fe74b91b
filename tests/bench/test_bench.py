"""bench (cpu and rpi over a real local sshd) and report."""
import json
import os
import socket
import sys
import time

import pytest
from click.testing import CliRunner

from edgernn import api
from edgernn.bench.schema import FIELDS
from edgernn.cli import main
from edgernn.targets.base import parse_runner_output
from edgernn.targets.runner import latency_stats
from edgernn.errors import UserError

FAST = dict(warmup=2, runs=20, repeats=2, progress=False)


@pytest.fixture(scope="module")
def artifacts(tiny_runs):
    run = tiny_runs["gru"]
    return [run / "model.keras", api.quantize(run, mode="int8", calibration_samples=50),
            api.export(run, format="onnx")]


def test_latency_stats_from_known_samples():
    s = latency_stats([1_000_000 * v for v in range(1, 101)])  # 1..100 ms
    assert s["p50"] == pytest.approx(50.5) and s["min"] == 1.0 and s["max"] == 100.0
    assert s["p90"] == pytest.approx(90.1) and s["p99"] == pytest.approx(99.01) and s["mean"] == pytest.approx(50.5)


def test_malformed_runner_output_is_reported_not_parsed():
    with pytest.raises(UserError, match="gave no result"):
        parse_runner_output("EDGERNN-RESULT {not json\n", "board")
    with pytest.raises(UserError, match="gave no result: Segmentation fault"):
        parse_runner_output("Segmentation fault\n", "board")


def test_cpu_bench_every_runtime_with_accuracy(artifacts, tmp_path):
    rows = api.bench(artifacts, target="cpu", out=tmp_path / "out", **FAST)
    assert {(r["artifact"].split("/")[-1], r["runtime"]) for r in rows} == {
        ("model.keras", "keras"), ("model_int8.tflite", "litert"), ("model_int8.tflite", "tflm"),
        ("model.onnx", "onnxrt")}
    for r in rows:
        assert set(r) == set(FIELDS) and r["error"] is None
        lat = r["latency_ms"]
        assert 0 < lat["min"] <= lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["max"]
        assert len(r["p50_per_repeat_ms"]) == 2 and r["p50_spread_ms"] == [min(r["p50_per_repeat_ms"]), max(r["p50_per_repeat_ms"])]
        assert r["metric"] == "accuracy" and 0.5 < r["accuracy"] <= 1.0
        assert r["peak_rss_bytes"] > r["rss_runtime_import_bytes"] > 0
        assert r["file_bytes"] == os.path.getsize(r["artifact"])
    keras = next(r for r in rows if r["runtime"] == "keras")
    trained = json.loads((artifacts[0].parent / "metrics.json").read_text())["accuracy"]
    assert keras["accuracy"] == pytest.approx(trained)
    for name in ("results.json", "results.csv", "report.md", "pareto.png"):
        assert (tmp_path / "out" / name).stat().st_size > 0
    assert json.loads((tmp_path / "out" / "results.json").read_text())["results"] == json.loads(json.dumps(rows))
    assert (tmp_path / "out" / "results.csv").read_text().count("\n") == len(rows) + 1


def test_native_c_engine_is_benchmarked_when_asked(artifacts):
    rows = api.bench(artifacts[1:2], target="cpu", runtimes=["native", "tflm"], **FAST)
    by = {r["runtime"]: r for r in rows}
    assert set(by) == {"native", "tflm"} and by["native"]["error"] is None
    assert by["native"]["accuracy"] == by["tflm"]["accuracy"]  # bit-exact engines, same test split
    assert by["native"]["latency_ms"]["p50"] > 0


def test_report_merges_folders(artifacts, tmp_path):
    api.bench(artifacts[1:2], target="cpu", runtimes=["litert"], out=tmp_path / "a", **FAST)
    api.bench(artifacts[2:3], target="cpu", out=tmp_path / "b", **FAST)
    files = api.report([tmp_path / "a", tmp_path / "b"], tmp_path / "rep")
    md = (tmp_path / "rep" / "report.md").read_text()
    assert "model_int8.tflite" in md and "model.onnx" in md and "pareto_cpu.png" in md
    html = (tmp_path / "rep" / "report.html").read_text()
    assert "data:image/png;base64," in html and html.count("<tr>") == 3
    assert {f.name for f in files} == {"report.md", "report.html"}


@pytest.mark.parametrize("args, message", [
    (["bench"], "no artifacts to benchmark"),
    (["bench", "/no/model.tflite"], "no such file"),
    (["bench", "{tfl}", "--runtimes", "tensorrt"], "unknown runtime(s) tensorrt"),
    (["bench", "{tfl}", "--target", "gpu"], "Invalid value for '--target'"),
    (["bench", "{tfl}", "--target", "rpi"], "--target rpi needs --host"),
    (["bench", "{tfl}", "--target", "rpi", "--host", "-oProxyCommand=touch /tmp/x"], "invalid --host"),
    (["bench", "{tfl}", "--target", "rpi", "--host", "pi@host;rm -rf /"], "invalid --host"),
    (["report", "--out", "{tmp}/r", "{tmp}/empty"], "no results.json"),  # an output outside the input
])
def test_bad_inputs_exit_2(artifacts, tmp_path, args, message):
    (tmp_path / "empty").mkdir(exist_ok=True)
    args = [a.format(tfl=artifacts[1], tmp=tmp_path) for a in args]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 2, r.output
    assert message in r.output and "Traceback" not in r.output


# --- Raspberry Pi target against a real OpenSSH server on 127.0.0.1 ---------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_rpi_over_ssh_has_the_cpu_schema(artifacts, sshd, tmp_path):
    rows = api.bench(artifacts[1:], target="rpi", out=tmp_path / "rpi", **FAST, **sshd)
    assert {r["runtime"] for r in rows} == {"litert", "onnxrt"}  # no TensorFlow needed on a board
    cpu = api.bench(artifacts[1:2], target="cpu", runtimes=["litert"], **FAST)[0]
    for r in rows:
        assert set(r) == set(cpu) == set(FIELDS)
        assert r["target"] == "rpi" and r["host"] == f"{sshd['host']}:{sshd['port']}"
        assert r["error"] is None and r["latency_ms"]["p50"] > 0 and r["cpu_model"] and r["runtime_version"]
    litert = next(r for r in rows if r["runtime"] == "litert")
    assert litert["accuracy"] == pytest.approx(cpu["accuracy"])  # same kernels, same inputs
    assert (tmp_path / "rpi" / "results.json").is_file()


def test_rpi_missing_runtime_says_what_to_install(artifacts, sshd, tmp_path):
    """A board whose Python has no onnxruntime: the result says what to pip install."""
    board_python = tmp_path / "board-python"
    board_python.write_text(
        f"#!/bin/sh\nexec {sys.executable} -c \"import sys; sys.modules['onnxruntime'] = None; "
        "sys.argv = sys.argv[1:]; exec(compile(open(sys.argv[0]).read(), sys.argv[0], 'exec'))\" \"$@\"\n")
    board_python.chmod(0o755)
    rows = api.bench(artifacts[2:3], target="rpi", **FAST, **dict(sshd, remote_python=str(board_python)))
    assert len(rows) == 1 and rows[0]["latency_ms"] is None
    assert "runtime not installed" in rows[0]["error"] and rows[0]["install"] == "pip install onnxruntime"


def test_unreachable_host_fails_fast_with_message(artifacts, tmp_path):
    port = _free_port()  # nothing listens there
    start = time.time()
    r = CliRunner().invoke(main, ["bench", str(artifacts[1]), "--target", "rpi", "--host", "pi@127.0.0.1",
                                  "--port", str(port), "--timeout", "5", "--known-hosts", str(tmp_path / "kh")])
    assert r.exit_code == 2
    assert f"127.0.0.1:{port}: connecting failed" in r.output and "Connection refused" in r.output
    assert time.time() - start < 30
