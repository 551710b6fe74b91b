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
    assert "Cortex-M4 TRM" in cell["latency basis"] and float(cell["instructions / MAC"]) > 1
    # estimated cycles beside the counted instructions, and the latency at the part's clock
    assert cell["est. cycles"] == f"{r['mcu']['estimated_cycles_per_inference']:,}"
    assert float(cell["est. cycles / MAC"]) > float(cell["instructions / MAC"])
    assert cell["est. ms @ clock"].endswith("@ 168 MHz")
    assert cell["flash KB"] == f"{r['mcu']['flash_without_vectors_bytes'] / 1024:.1f}" and float(cell["flash KB"]) > 1

    out = CliRunner().invoke(main, ["report", str(tmp_path / "mcu"), "--out", str(tmp_path / "report")])
    assert out.exit_code == 0, out.output
    md = (tmp_path / "report" / "report.md").read_text()
    assert "| instructions / MAC |" in md and "peak RSS MB" not in md and "estimate" in md
    assert "| est. cycles / MAC |" in md and "est. cycles = " in md
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


def test_one_target_interface_for_every_target(tmp_path):
    """cpu, rpi and mcu are all targets.base.Target and the harness builds each from its own options;
    what the MCU cannot take is refused by its plan, before anything is built."""
    from edgernn.bench.harness import make_target
    from edgernn.errors import UserError
    from edgernn.targets.base import Target

    cpu, mcu = make_target("cpu"), make_target("mcu", board="mps2-an386", vectors=2)
    try:
        assert isinstance(cpu, Target) and isinstance(mcu, Target)
        assert cpu.repeats_matter and not mcu.repeats_matter  # QEMU's counts are exact: one repeat
        onnx = tmp_path / "m.onnx"
        onnx.write_bytes(b"not a model")
        with pytest.raises(UserError, match="--target mcu takes int8 .tflite models"):
            mcu.plan([onnx], None)
        assert cpu.plan([onnx], ["onnxrt"]) == [(onnx, "onnxrt")]
    finally:
        cpu.close()
        mcu.close()
    tfl = tmp_path / "x.tflite"
    tfl.write_bytes(b"x")
    serial = make_target("mcu", serial_port="/dev/ttyACM0", vectors=1)  # a real board: no test split on it
    assert not serial.takes_inputs and serial.plan([tfl], None) == [(tfl, "native-c (serial)")]
    with pytest.raises(UserError, match="--app kws needs --wav"):
        make_target("mcu", app="kws")


def _mcu_row(**mcu) -> dict:
    return {"artifact": "r/model_int8.tflite", "target": "mcu", "runtime": "native-c", "file_bytes": 1000,
            "latency_ms": {"p50": 1.0, "p99": 1.0}, "p50_spread_ms": [1.0, 1.0], "mcu": mcu}


def test_serial_and_kws_rows_get_their_own_tables():
    from edgernn.bench.report import KWS_COLUMNS, SERIAL_COLUMNS

    qemu = _mcu_row(port="/dev/pts/3", board_name="edgernn-mps2-an386", bit_exact_vs_tflm=True,
                    instructions_per_inference=23240)
    board = _mcu_row(port="/dev/ttyACM0", board_name="edgernn-stm32f4", bit_exact_vs_tflm=False,
                     instructions_per_inference=23000, cycles_per_inference=31000)
    columns, cells = columns_and_rows([qemu, board])
    assert columns == SERIAL_COLUMNS
    assert cells[0][2:] == ["edgernn-mps2-an386", "yes", "23,240 instructions"]
    assert cells[1][2:] == ["edgernn-stm32f4", "NO", "31,000 cycles (measured)"]
    kws = _mcu_row(frontend_instructions_per_audio_second=1_500_000, model_instructions_per_audio_second=250_000,
                   rtf_frontend=0.0089, rtf_total=0.0104, flash_bytes=40_000, ram_bytes=9_000,
                   detections_equal_host=True)
    columns, cells = columns_and_rows([kws])
    assert columns == KWS_COLUMNS and cells[0][1:3] == ["1,500,000", "250,000"] and cells[0][-1] == "yes"
