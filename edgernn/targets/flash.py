"""``edgernn firmware flash``: put serial-app firmware on a real board.

One recipe per board family (``Board.flashing``):
  stm32f4   an ST-LINK probe (boards stm32f4: 32F429IDISCOVERY; stm32f4-nucleo: Nucleo-64): openocd with
            target/stm32f4x.cfg (any F4 part), or pyocd (--target: stm32f4 defaults to stm32f429xi,
            built in; other parts after `pyocd pack install PART`)
  microbit  the micro:bit's DAPLink probe: openocd (cmsis-dap, target/nrf51.cfg), pyocd (nrf51), or
            the .hex copied to the MICROBIT USB drive (--probe drive --drive /media/$USER/MICROBIT)
  mps2      Arm MPS2+ FPGA boards have no SWD flashing: the .bin goes to the board's USB drive
            (--probe drive) and the board's images.txt names it
Only the serial app runs stand-alone: the bench app reports over semihosting, which needs a debugger.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from edgernn import io
from edgernn.errors import UserError
from edgernn.procs import tied_to_parent
from edgernn.targets.boards import get_board

PROBES = ("openocd", "pyocd", "drive")
DEFAULT_PROBE = {"stm32f4": "openocd", "microbit": "openocd", "mps2": "drive"}
OPENOCD = {"stm32f4": ("interface/stlink.cfg", "target/stm32f4x.cfg"),
           "microbit": ("interface/cmsis-dap.cfg", "target/nrf51.cfg")}
PYOCD_TARGET = {"stm32f4": "stm32f429xi", "microbit": "nrf51"}  # per board; built into pyocd (no pack download)
INSTALL = {"openocd": "apt-get install openocd", "pyocd": "pip install pyocd==0.46.0"}
NO_PROBE = ("open failed", "unable to find a matching cmsis-dap device", "no connected debug probes",
            "no device found", "unable to open")


def build_record(elf: Path) -> dict | None:
    """What `firmware build` recorded about this ELF (board, app), if it was built here."""
    for f in sorted(elf.parent.glob("firmware-*.json")):
        try:  # a user's folder: a damaged or foreign record is not ours, so it is skipped, never a traceback
            record = io.read_json(f)
        except UserError:
            continue
        if isinstance(record, dict) and isinstance(record.get("elf"), str) and \
                Path(record["elf"]).resolve() == elf.resolve():
            return record
    return None


def check_elf(elf: Path, board: str) -> None:
    if not elf.is_file():
        raise UserError(f"{elf}: no such file (build it with `edgernn firmware build MODEL --board {board} --app serial`)")
    with open(elf, "rb") as f:
        if f.read(4) != b"\x7fELF":
            raise UserError(f"{elf}: not an ELF file (flash the .elf that `edgernn firmware build` wrote)")
    record = build_record(elf)
    if record is None:
        return  # built elsewhere: the user vouches for it
    if record["board"] != board:
        raise UserError(f"{elf} was built for {record['board']}, not {board}")
    if record["app"] != "serial":
        raise UserError(f"{elf} is the bench app, which reports over semihosting and halts without a debugger; "
                        f"flash the serial app (`edgernn firmware build MODEL --board {board} --app serial`)")


def flash_command(elf: Path, board: str, probe: str, target: str | None = None) -> list[str]:
    """The programming command line for ``probe`` (openocd or pyocd)."""
    family = get_board(board).flashing
    if probe == "openocd":
        if family not in OPENOCD:
            raise UserError(f"{board}: no openocd recipe ({_family_hint(family)})")
        if any(c in str(elf) for c in "{}"):
            raise UserError(f"{elf}: braces in the path confuse openocd's Tcl; move the file")
        interface, chip = OPENOCD[family]
        return ["openocd", "-f", interface, "-f", chip, "-c", f"program {{{elf.resolve()}}} verify reset exit"]
    if probe == "pyocd":
        if family not in OPENOCD:  # the families programmed over SWD; pyocd serves the same ones
            raise UserError(f"{board}: no pyocd recipe ({_family_hint(family)})")
        target = target or PYOCD_TARGET.get(board)
        if target is None:
            raise UserError(f"{board}: name the part with --target (e.g. stm32f411re, after "
                            "`pyocd pack install stm32f411re`), or use --probe openocd")
        return ["pyocd", "load", "--no-wait", "--target", target, str(elf.resolve())]
    raise UserError(f"unknown probe {probe!r} (choose from {', '.join(PROBES)})")


def _family_hint(family: str) -> str:
    if family == "mps2":
        return "MPS2+ boards are programmed through their USB drive: use --probe drive --drive DIR"
    return f"use --probe {DEFAULT_PROBE.get(family, 'drive')}"


def copy_to_drive(elf: Path, board: str, drive: str | None) -> dict:
    """micro:bit: Intel hex onto the DAPLink drive. MPS2: raw binary onto the board's drive."""
    family = get_board(board).flashing
    if family not in ("microbit", "mps2"):
        raise UserError(f"{board} has no USB-drive programming; use --probe openocd or --probe pyocd")
    if not drive or not Path(drive).is_dir():
        raise UserError(f"--drive must be the board's mounted USB drive (got {drive!r})")
    objcopy = shutil.which("arm-none-eabi-objcopy")
    if objcopy is None:
        raise UserError("arm-none-eabi-objcopy not found (apt-get install gcc-arm-none-eabi)")
    kind, name = ("ihex", "edgernn.hex") if family == "microbit" else ("binary", "edgernn.bin")
    dest = Path(drive) / name
    tmp = dest.with_name(f".{name}.tmp")
    subprocess.run([objcopy, "-O", kind, str(elf), str(tmp)], check=True)
    tmp.replace(dest)  # DAPLink programs on close of a complete file
    note = ("DAPLink flashes it and resets the board" if family == "microbit" else
            f"add `IMAGE0FILE: \\SOFTWARE\\{name}` to the board's images.txt if {name} is not named there yet")
    return {"board": board, "probe": "drive", "written": str(dest), "bytes": dest.stat().st_size, "note": note}


def flash(elf: str | Path, board: str, probe: str | None = None, target: str | None = None,
          drive: str | None = None, dry_run: bool = False, timeout: float = 180) -> dict:
    """Program ``elf`` onto the connected ``board``; returns what was run and its output."""
    elf, family = Path(elf), get_board(board).flashing
    if not family:
        raise UserError(f"{board}: edgernn has no recipe for flashing it (it runs in QEMU: `firmware run`)")
    probe = probe or DEFAULT_PROBE.get(family, "openocd")
    check_elf(elf, board)
    if probe == "drive":
        if dry_run:
            return {"board": board, "probe": "drive", "command": None, "dry_run": True}
        return copy_to_drive(elf, board, drive)
    cmd = flash_command(elf, board, probe, target)
    if dry_run:
        return {"board": board, "probe": probe, "command": cmd, "dry_run": True}
    exe = shutil.which(cmd[0])
    if exe is None:
        raise UserError(f"{cmd[0]} not found ({INSTALL[cmd[0]]})")
    try:
        proc = subprocess.run(tied_to_parent([exe, *cmd[1:]]), capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise UserError(f"{cmd[0]} did not finish within {timeout:.0f} s") from None
    output = (proc.stdout + proc.stderr).strip()
    if proc.returncode != 0:
        errors = [line.strip() for line in output.splitlines() if "error" in line.lower()]
        tail = " | ".join(errors[:2] or output.splitlines()[-3:])
        if any(s in output.lower() for s in NO_PROBE):
            raise UserError(f"no debug probe found: is the board connected over USB (and your user allowed to "
                            f"use it)? {cmd[0]} said: {tail}")
        raise UserError(f"{cmd[0]} failed (exit {proc.returncode}): {tail}")
    return {"board": board, "probe": probe, "command": cmd, "output": output[-2000:]}
