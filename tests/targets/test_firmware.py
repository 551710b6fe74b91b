"""Cortex-M firmware under QEMU: bit-exact with TFLite Micro, measured, and failing cleanly."""
import json
import subprocess

import pytest
from click.testing import CliRunner

from edgernn import api
from edgernn.cli import main
from edgernn.errors import UserError
from edgernn.export.codegen.sources import firmware_dir
from edgernn.targets import mcu, qemu
from edgernn.targets.boards import BOARDS, get_board, linker_script


@pytest.fixture(scope="module")
def gru_int8(tiny_runs):
    return api.quantize(tiny_runs["gru"], mode="int8", calibration_samples=40, out=tiny_runs["gru"] / "fw.tflite")


@pytest.mark.parametrize("board", sorted(BOARDS))
def test_firmware_is_bit_exact_on_every_board(gru_int8, tmp_path, board):
    r = mcu.measure(gru_int8, board, vectors=6, out=tmp_path / board)
    assert r["bit_exact_vs_tflm"] and r["mismatching_vectors"] == 0 and r["vectors"] == 6
    assert r["macs_per_inference"] == 12 * (3 * 8 * (4 + 8)) + 8 * 3  # T x (input + recurrent FC) + head
    assert 1 < r["instructions_per_mac"] < 100 and r["instructions_resolution"] <= 64
    assert r["flash_bytes"] > r["flash_without_vectors_bytes"] > gru_int8.stat().st_size // 4
    assert 0 < r["stack_used_bytes"] < 8192
    # cycles and latency are labelled as estimates, with their basis: the core's table and the clock
    assert r["estimate"].startswith("est. cycles = ") and f"{get_board(board).clock_hz / 1e6:.0f} MHz" in r["estimate"]
    assert r["cycle_table"] == get_board(board).timing
    # the profiled inference is the counted one, less the timer reads around it
    assert abs(r["profiled_instructions"] - r["instructions_per_inference"]) <= 2 * r["instructions_resolution"] + 64
    assert r["estimated_cycles_per_inference"] >= r["profiled_instructions"]  # no table prices below 1 cycle
    assert r["estimated_latency_ms"] == pytest.approx(r["estimated_cycles_per_inference"] / r["clock_hz"] * 1e3)
    assert json.loads((tmp_path / board / "firmware-bench.json").read_text())["compiler_warnings"] == ""  # -Wall -Wextra


@pytest.fixture(scope="module")
def lstm_int8(tiny_data, tmp_path_factory):
    """7 units: rows that do not fill the DSP kernel's 4-row blocks."""
    run = api.train(task="classify", arch="lstm", units=7, data=tiny_data, out=tmp_path_factory.mktemp("l") / "lstm7",
                    epochs=4, progress=False)
    return api.quantize(run, mode="int8", calibration_samples=40)


@pytest.mark.parametrize("board,reference", [("mps2-an386", False), ("mps2-an386", True), ("mps2-an500", False),
                                             ("mps2-an505", False), ("mps3-an547", False), ("microbit", True)])
def test_lstm_firmware_is_bit_exact(lstm_int8, tmp_path, board, reference):
    r = mcu.measure(lstm_int8, board, vectors=6, reference=reference, out=tmp_path / board)
    assert r["bit_exact_vs_tflm"] and r["mismatching_vectors"] == 0 and r["vectors"] == 6
    assert r["macs_per_inference"] == 12 * 4 * 7 * (4 + 7) + 7 * 3  # T x 4 gates x (input + recurrent) + head
    assert 1 < r["instructions_per_mac"] < 200


def test_dsp_path_is_bit_exact_and_cheaper(gru_int8, tmp_path):
    dsp = mcu.measure(gru_int8, "mps2-an386", vectors=4, out=tmp_path / "dsp")
    ref = mcu.measure(gru_int8, "mps2-an386", vectors=4, reference=True, out=tmp_path / "ref")
    assert dsp["dsp_kernels"] and not ref["dsp_kernels"]
    assert dsp["bit_exact_vs_tflm"] and ref["bit_exact_vs_tflm"]
    assert dsp["instructions_per_inference"] < ref["instructions_per_inference"]


def test_instruction_count_is_deterministic(gru_int8, tmp_path):
    elf = api.firmware_build(gru_int8, board="mps2-an386", out=tmp_path / "fw", vectors=3)
    a, b = api.firmware_run(elf), api.firmware_run(elf)
    assert a["ticks"] == b["ticks"] and a["calib_ticks"] == b["calib_ticks"] == 2_000_000 // 40


@pytest.mark.parametrize("text, message", [
    ("EDGERNN-OUT 0 00\nEDGERNN-MCU vectors=1 mismatches=0 ticks=x\n", "malformed firmware summary"),
    ("EDGERNN-OUT 0 00\n", "printed no summary"),
    ("EDGERNN-MCU vectors=2 mismatches=0 ticks=5 calib_ticks=1 calib_instructions=2 stack_used=1 stack_size=2\n"
     "EDGERNN-OUT 0 00\n", "outputs for 1 of 2 vectors"),
])
def test_malformed_output_is_reported_not_parsed(text, message):
    with pytest.raises(UserError, match=message):
        mcu.parse_output(text, 0)


def test_the_app_is_recognized_from_its_lines():
    from edgernn.targets.firmware_app import default_timeout, printed_app

    assert printed_app("boot\nEDGERNN-OUT 0 7f\nEDGERNN-MCU vectors=1 ...\n") == "bench"
    assert printed_app("EDGERNN-KWS-DET 1000 2 200\n  EDGERNN-KWS samples=16000\n") == "kws"
    assert printed_app("Hello\nEDGERNN-FAULT\n") is None and printed_app("") is None
    with pytest.raises(UserError, match="both the bench and the kws app"):
        printed_app("EDGERNN-MCU x\nEDGERNN-KWS y\n")
    assert default_timeout("bench") == 120 and default_timeout("kws") == default_timeout("auto") == 300


def test_hung_firmware_times_out(tmp_path):
    board = get_board("mps2-an386")
    (tmp_path / "link.ld").write_text(linker_script(board))
    (tmp_path / "hang.c").write_text("int main(void) { for (;;) {} }\n")
    elf = tmp_path / "hang.elf"
    subprocess.run(["arm-none-eabi-gcc", "-mcpu=cortex-m4", "-mthumb", "-O2", "-ffreestanding", "-nostdlib",
                    "-T", str(tmp_path / "link.ld"), str(firmware_dir() / "boards" / "startup.c"),
                    str(tmp_path / "hang.c"), "-lgcc", "-o", str(elf)], check=True)
    r = CliRunner().invoke(main, ["firmware", "run", str(elf), "--timeout", "3", "--foreign"])
    assert r.exit_code == 2 and "did not finish within 3 s" in r.output


@pytest.mark.parametrize("args, message", [
    (["firmware", "run", "/no/fw.elf"], "no such file"),
    (["firmware", "build", "{model}", "--board", "esp32"], "unknown board 'esp32'"),
    (["bench", "{model}", "--target", "mcu", "--board", "esp32"], "unknown board 'esp32'"),
])
def test_bad_inputs_exit_2(gru_int8, args, message):
    r = CliRunner().invoke(main, [a.format(model=gru_int8) for a in args])
    assert r.exit_code == 2, r.output
    assert message in r.output and "Traceback" not in r.output


def test_bench_mcu_rows(gru_int8, tmp_path):
    rows = api.bench([gru_int8], target="mcu", board="mps2-an386", vectors=2, out=tmp_path / "mcu")
    assert rows[0]["target"] == "mcu" and rows[0]["mcu"]["bit_exact_vs_tflm"]
    assert rows[0]["estimate"].startswith("est. cycles")  # the latency is labelled as an estimate
    assert rows[0]["mcu"]["estimated_cycles_per_inference"] > rows[0]["mcu"]["instructions_per_inference"] // 2
    assert (tmp_path / "mcu" / "results.json").is_file()


# --- serial benchmark protocol ----------------------------------------------------------------

@pytest.mark.parametrize("board", sorted(name for name, b in BOARDS.items() if b.uart))
def test_serial_protocol_against_qemu_uart(gru_int8, tmp_path, board):
    """The serial app on each UART driver (CMSDK, STM32 USART, nRF51 UART), through QEMU -serial pty."""
    r = api.bench_serial(gru_int8, board=board, vectors=3)
    record = json.loads((gru_int8.parent / f"firmware-{board}" / "firmware-serial.json").read_text())
    assert record["compiler_warnings"] == ""  # serial app and UART driver, -Wall -Wextra
    assert r["board_name"] == f"edgernn-{board}" and r["port"].startswith("/dev/pts/")
    assert r["bit_exact_vs_tflm"] and r["vectors"] == 3 and r["instructions_per_inference"] > 1000
    semihosted = mcu.measure(gru_int8, board, vectors=3, out=tmp_path / "s")
    # same code, same count: the two harnesses agree to within timer resolution and call overhead
    assert abs(r["instructions_per_inference"] - semihosted["instructions_per_inference"]) < 2000


def test_host_connecting_after_boot_asks_for_ready(gru_int8, tmp_path):
    """A real board may have printed its boot m-ready before the port was opened: the host asks instead."""
    from edgernn.targets.serial_host import SerialBoard

    elf = api.firmware_build(gru_int8, board="mps2-an386", out=tmp_path, app="serial")
    with qemu.serial(elf, "mps2-an386") as pty:
        first = SerialBoard(pty, timeout=20)
        first.wait_ready()
        first.close()
        late = SerialBoard(pty, timeout=20)
        late.wait_ready()  # no banner any more: answered through the name request
        assert late.name() == "edgernn-mps2-an386"
        assert late.profile()["output_size"] == 3  # replies stay in step with their commands
        late.close()


def test_bench_on_a_serial_port_reports_measured_cycles(gru_int8, tmp_path):
    """The real-board path (--serial-port), here with QEMU's UART as the port: no DWT there, so SysTick."""
    elf = api.firmware_build(gru_int8, board="stm32f4", out=tmp_path, app="serial")
    with qemu.serial(elf, "stm32f4") as pty:
        r = CliRunner().invoke(main, ["bench", str(gru_int8), "--target", "mcu", "--serial-port", pty, "--vectors", "2"])
        assert r.exit_code == 0, r.output
        assert "cycles (measured)" in r.output and "cycle basis: SysTick" in r.output
        row = api.bench_serial(gru_int8, board="stm32f4", port=pty, vectors=2)
    assert row["bit_exact_vs_tflm"] and row["cycles_per_inference"] > 0


class _ScriptedBoard:
    """A fake serial connection that answers every command with the given lines."""

    def __init__(self, reply: bytes):
        self.reply, self.buffer = reply, b""

    def write(self, data):
        self.buffer += self.reply

    def flush(self):
        pass

    def read(self, n):
        out, self.buffer = self.buffer[:n], self.buffer[n:]
        return out

    def close(self):
        pass


@pytest.mark.parametrize("reply, call, message", [
    (b"garbage line\r\nm-ready\r\n", "name", "malformed reply"),
    (b"m-error-[unknown command]\r\nm-ready\r\n", "name", "board rejected"),
    (b"m-instructions-[12x]\r\nm-ticks-[3]\r\nm-calib-[1/2]\r\nm-ready\r\n", "infer", "well-formed m-instructions"),
    (b"m-results-[1,2\r\n", "results", "no reply within"),
])
def test_malformed_serial_replies_are_errors(reply, call, message):
    from edgernn.targets.serial_host import SerialBoard

    board = SerialBoard("fake", timeout=1, connection=_ScriptedBoard(reply))
    with pytest.raises(UserError, match=message):
        getattr(board, call)()


@pytest.mark.parametrize("reply, dwt", [
    (b"m-cycles-[900]\r\nm-dwt-cycles-[880]\r\nm-ticks-[900]\r\nm-calib-[1/2]\r\nm-instructions-[700]\r\nm-ready\r\n", 880),
    (b"m-cycles-[900]\r\nm-ticks-[900]\r\nm-calib-[1/2]\r\nm-instructions-[700]\r\nm-ready\r\n", None),
])
def test_dwt_cycles_are_read_when_the_board_has_them(reply, dwt):
    """A real Cortex-M3/M4/M7/M33 adds its DWT cycle count; QEMU (no DWT model) and M0 boards do not."""
    from edgernn.targets.serial_host import SerialBoard

    timing = SerialBoard("fake", timeout=1, connection=_ScriptedBoard(reply)).infer()
    assert timing["dwt_cycles_per_inference"] == dwt and timing["cycles_per_inference"] == 900
    assert timing["instructions_per_inference"] == 700


def test_serial_app_needs_a_uart_driver(gru_int8, tmp_path):
    with pytest.raises(UserError, match="needs a UART driver for mps2-an505"):
        api.firmware_build(gru_int8, board="mps2-an505", out=tmp_path, app="serial")
