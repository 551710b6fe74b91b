"""MCU rows of `bench` and `report` have their own columns: flash, RAM, instructions, the estimate's basis,
bit-exactness on how many vectors, and the test-split accuracy the bit-exact C therefore has."""
import shutil

import pytest
from click.testing import CliRunner

from edgernn import api
from edgernn.bench.report import COLUMNS, MCU_COLUMNS, columns_and_rows
from edgernn.cli import main
from edgernn.runtimes.tflm import TFLMRuntime


@pytest.fixture(scope="module")
def gru_int8(tiny_runs):
    return api.quantize(tiny_runs["gru"], mode="int8", calibration_samples=40)


def test_mcu_rows_get_device_columns_and_the_bit_exact_accuracy(gru_int8, tmp_path):
    model = gru_int8
    rows = api.bench([model], target="mcu", board="mps2-an386", vectors=4, out=tmp_path / "mcu")
    r = rows[0]
    assert r["mcu"]["bit_exact_vs_tflm"] and r["peak_rss_bytes"] is None  # no host RSS for a microcontroller
    # the accuracy is TFLite Micro's on the test split, which the bit-exact C shares, and the row says so
    assert r["metric"] == "accuracy" and 0 <= r["accuracy"] <= 1 and "bit-exact" in r["mcu"]["accuracy_basis"]
    assert "40 samples" in r["mcu"]["accuracy_basis"]
    columns, cells = columns_and_rows(rows)
    assert columns == MCU_COLUMNS
    cell = dict(zip(columns, cells[0]))
    assert cell["bit-exact vs TFLM"] == "yes (4/4 vectors)" and cell["core"] == "Cortex-M4"
    assert "CPI 1" in cell["latency basis"] and float(cell["instructions / MAC"]) > 1
    assert cell["flash KB"] == f"{r['mcu']['flash_without_vectors_bytes'] / 1024:.1f}" and float(cell["flash KB"]) > 1

    out = CliRunner().invoke(main, ["report", str(tmp_path / "mcu"), "--out", str(tmp_path / "report")])
    assert out.exit_code == 0, out.output
    md = (tmp_path / "report" / "report.md").read_text()
    assert "| instructions / MAC |" in md and "peak RSS MB" not in md and "estimate" in md
    assert "| instructions / MAC |" not in "|".join(COLUMNS)
    html = (tmp_path / "report" / "report.html").read_text()
    assert "<th>bit-exact vs TFLM</th>" in html


def test_mcu_row_without_run_folder_has_no_accuracy(gru_int8, tmp_path):
    model = tmp_path / "alone.tflite"  # no config.json next to it: no test split to judge
    shutil.copy(gru_int8, model)
    assert TFLMRuntime(model).input_info().dtype == "int8"
    r = api.bench([model], target="mcu", board="mps2-an386", vectors=2)[0]
    assert r["accuracy"] is None and r["mcu"]["accuracy_basis"].startswith("none")


def test_mcu_rows_without_model_figures_keep_the_general_table():
    """An app's MCU row (its own figures under "mcu", e.g. the keyword-spotting app) is not forced into the
    model columns."""
    app_row = {"artifact": "r/model_int8.tflite", "target": "mcu", "runtime": "native-c+frontend", "file_bytes": 1000,
               "latency_ms": {"p50": 1.0, "p99": 1.0}, "p50_spread_ms": [1.0, 1.0], "mcu": {"rtf_total": 0.1}}
    columns, cells = columns_and_rows([app_row])
    assert columns == COLUMNS and len(cells[0]) == len(COLUMNS)
