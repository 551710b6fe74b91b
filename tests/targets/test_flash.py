"""`edgernn firmware flash`: the programming commands, their failures, and USB-drive copies."""
import os
import shutil
import stat

import pytest
from click.testing import CliRunner

from edgernn import api
from edgernn.cli import main
from edgernn.errors import UserError
from edgernn.targets import flash as F


@pytest.fixture(scope="module")
def serial_elfs(tiny_runs, tmp_path_factory):
    """Serial-app firmware for the two real-board families, and a bench-app ELF."""
    model = api.quantize(tiny_runs["gru"], mode="int8", calibration_samples=20,
                         out=tmp_path_factory.mktemp("m") / "model.tflite")
    root = tmp_path_factory.mktemp("fw")
    return {"stm32f4": api.firmware_build(model, board="stm32f4", out=root / "stm32f4", app="serial"),
            "microbit": api.firmware_build(model, board="microbit", out=root / "microbit", app="serial"),
            "mps2-an386": api.firmware_build(model, board="mps2-an386", out=root / "mps2", app="serial"),
            "bench": api.firmware_build(model, board="microbit", out=root / "bench", vectors=1)}


def _fake_tool(folder, name, exit_code=0, output=""):
    """An executable that records its arguments (one per line) and prints ``output``."""
    script = folder / name
    script.write_text(f"#!/bin/sh\nfor a in \"$@\"; do echo \"$a\"; done > {folder / (name + '.args')}\n"
                      f"echo '{output}'\nexit {exit_code}\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return folder / (name + ".args")


@pytest.mark.parametrize("board,probe,expected", [
    ("stm32f4", "openocd", ["-f", "interface/stlink.cfg", "-f", "target/stm32f4x.cfg", "-c"]),
    ("microbit", "openocd", ["-f", "interface/cmsis-dap.cfg", "-f", "target/nrf51.cfg", "-c"]),
    ("stm32f4", "pyocd", ["load", "--no-wait", "--target", "stm32f429xi"]),
    ("microbit", "pyocd", ["load", "--no-wait", "--target", "nrf51"]),
])
def test_flash_runs_the_probe_tool(serial_elfs, tmp_path, monkeypatch, board, probe, expected):
    args_file = _fake_tool(tmp_path, probe)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    r = CliRunner().invoke(main, ["firmware", "flash", str(serial_elfs[board]), "--board", board, "--probe", probe])
    assert r.exit_code == 0, r.output
    args = args_file.read_text().splitlines()
    assert args[:len(expected)] == expected
    elf = str(serial_elfs[board].resolve())
    assert args[-1] == (f"program {{{elf}}} verify reset exit" if probe == "openocd" else elf)


def test_pyocd_target_can_be_chosen(serial_elfs):
    r = api.firmware_flash(serial_elfs["stm32f4"], board="stm32f4", probe="pyocd", target="stm32f407vg", dry_run=True)
    assert r["command"][:5] == ["pyocd", "load", "--no-wait", "--target", "stm32f407vg"]


def test_nucleo_needs_a_named_pyocd_target(serial_elfs):
    """No Nucleo-64 part is built into pyocd: the user names it (or uses openocd, which covers the family)."""
    with pytest.raises(UserError, match="name the part with --target"):
        F.flash_command(serial_elfs["stm32f4"], "stm32f4-nucleo", "pyocd")
    assert F.flash_command(serial_elfs["stm32f4"], "stm32f4-nucleo", "openocd")[1:5] == [
        "-f", "interface/stlink.cfg", "-f", "target/stm32f4x.cfg"]


def test_default_pyocd_targets_are_built_in():
    """No CMSIS pack download needed for the defaults: pyocd knows them out of the box."""
    import subprocess
    import sys

    pyocd = shutil.which("pyocd") or os.path.join(os.path.dirname(sys.executable), "pyocd")
    listing = subprocess.run([pyocd, "list", "--targets"], capture_output=True, text=True, check=True).stdout
    builtin = {line.split()[0] for line in listing.splitlines() if line.strip().endswith("builtin")}
    assert set(F.PYOCD_TARGET.values()) <= builtin


@pytest.mark.skipif(shutil.which("openocd") is None, reason="openocd is installed by `make test`")
@pytest.mark.parametrize("board", ["stm32f4", "microbit"])
def test_real_openocd_accepts_the_recipe_and_reports_the_missing_probe(serial_elfs, board):
    """Its interface and target scripts exist; with no board attached the error says so."""
    with pytest.raises(UserError, match="no debug probe found"):
        api.firmware_flash(serial_elfs[board], board=board, probe="openocd")


def test_missing_tool_names_the_install(serial_elfs, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    r = CliRunner().invoke(main, ["firmware", "flash", str(serial_elfs["stm32f4"]), "--board", "stm32f4",
                                  "--probe", "pyocd"])
    assert r.exit_code == 2 and "pyocd not found (pip install pyocd" in r.output


def test_tool_failure_is_reported(serial_elfs, tmp_path, monkeypatch):
    _fake_tool(tmp_path, "openocd", exit_code=1, output="Error: target voltage may be too low")
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    with pytest.raises(UserError, match=r"openocd failed \(exit 1\): .*voltage"):
        api.firmware_flash(serial_elfs["stm32f4"], board="stm32f4")


@pytest.mark.parametrize("which,board,message", [
    ("bench", "microbit", "bench app, which reports over semihosting"),
    ("microbit", "stm32f4", "was built for microbit, not stm32f4"),
])
def test_wrong_firmware_is_refused(serial_elfs, which, board, message):
    r = CliRunner().invoke(main, ["firmware", "flash", str(serial_elfs[which]), "--board", board, "--dry-run"])
    assert r.exit_code == 2 and message in r.output


def test_a_non_elf_file_is_refused(tmp_path):
    model = tmp_path / "model.tflite"
    model.write_bytes(b"\x1c\0\0\0TFL3")
    r = CliRunner().invoke(main, ["firmware", "flash", str(model), "--board", "stm32f4"])
    assert r.exit_code == 2 and "not an ELF file" in r.output


def test_microbit_hex_goes_to_the_drive(serial_elfs, tmp_path):
    drive = tmp_path / "MICROBIT"
    drive.mkdir()
    r = CliRunner().invoke(main, ["firmware", "flash", str(serial_elfs["microbit"]), "--board", "microbit",
                                  "--probe", "drive", "--drive", str(drive)])
    assert r.exit_code == 0, r.output
    lines = (drive / "edgernn.hex").read_text().splitlines()
    assert all(line.startswith(":") for line in lines) and lines[-1] == ":00000001FF"  # Intel hex, end record
    assert [p.name for p in drive.iterdir()] == ["edgernn.hex"]  # nothing half-written left behind


def test_mps2_boards_are_drive_only(serial_elfs, tmp_path):
    elf = serial_elfs["mps2-an386"]
    with pytest.raises(UserError, match="MPS2\\+ boards are programmed through their USB drive"):
        F.flash_command(elf, "mps2-an386", "openocd")
    with pytest.raises(UserError, match="--drive must be the board's mounted USB drive"):
        api.firmware_flash(elf, board="mps2-an386", drive=str(tmp_path / "none"))
    r = api.firmware_flash(elf, board="mps2-an386", drive=str(tmp_path))  # drive is the mps2 default
    assert r["written"].endswith("edgernn.bin") and "images.txt" in r["note"]
    assert (tmp_path / "edgernn.bin").read_bytes()[4:8] != b"\0\0\0\0"  # the reset vector, not an empty image
