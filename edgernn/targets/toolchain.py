"""The Arm cross toolchain, shared by the firmware apps (targets/mcu.py, targets/kws_firmware.py).

Finding the tools (``tool``), linking (``link``), and reading what an ELF holds (``check_arm_elf``,
``elf_sizes``); launching QEMU is targets/qemu.py.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from edgernn import io
from edgernn.errors import UserError
from edgernn.procs import tied_to_parent

APT_HINT = ("apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm "
            "(RISC-V boards: gcc-riscv64-unknown-elf qemu-system-misc)")
PREFIXES = {"arm": "arm-none-eabi-", "riscv": "riscv64-unknown-elf-"}
QEMU = {"arm": "qemu-system-arm", "riscv": "qemu-system-riscv32"}
EM_ARM, EM_RISCV = 40, 243


def prefix(board) -> str:
    """The cross toolchain's prefix for ``board`` (a boards.Board): arm-none-eabi- or riscv64-unknown-elf-."""
    return PREFIXES[board.arch]


def tool(name: str) -> str:
    """The path of ``name`` (arm-none-eabi-gcc, qemu-system-arm, ...), or a UserError saying how to install it."""
    path = shutil.which(name)
    if path is None:
        raise UserError(f"{name} not found (Debian: {APT_HINT}; `make test` installs them)")
    return path


def link(cmd: list[str]) -> subprocess.CompletedProcess:
    """Run a compile-and-link command line (tied to this process: killed if it dies)."""
    return subprocess.run(tied_to_parent(cmd), capture_output=True, text=True)


def elf_machine(elf: Path) -> str:
    """"arm" or "riscv": the machine of an ELF already checked by check_arm_elf."""
    head = io.read_user_file(elf, "firmware ELF", 64 * 1024 * 1024)[:20]
    return "riscv" if int.from_bytes(head[18:20], "little") == EM_RISCV else "arm"


def check_arm_elf(elf: Path) -> None:
    """A 32-bit little-endian ARM (or RV32) executable, checked from its header before QEMU sees it (QEMU would wait
    for the timeout on anything else and then print a register dump)."""
    head = io.read_user_file(elf, "firmware ELF", 64 * 1024 * 1024)[:20]
    if len(head) < 20 or head[:4] != b"\x7fELF":
        raise UserError(f"{elf}: not an ELF file (run the .elf that `edgernn firmware build` wrote)")
    if head[4] != 1 or head[5] != 1 or int.from_bytes(head[18:20], "little") not in (EM_ARM, EM_RISCV):
        raise UserError(f"{elf}: an ELF file, but not a 32-bit ARM (Cortex-M) or RISC-V executable")
    if int.from_bytes(head[16:18], "little") != 2:  # ET_EXEC
        raise UserError(f"{elf}: an ARM ELF file, but not a linked executable")


def elf_sizes(elf: Path) -> dict:
    """Flash (code, constants, initialised data) and static RAM from the ELF's sections."""
    proc = subprocess.run([tool(PREFIXES[elf_machine(elf)] + "size"), "-A", str(elf)], capture_output=True, text=True, check=True)
    sizes = {}
    for line in proc.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0].startswith(".") and parts[1].isdigit():
            sizes[parts[0]] = int(parts[1])
    flash = sum(sizes.get(s, 0) for s in (".isr_vector", ".text", ".rodata", ".ARM.exidx", ".data"))
    static_ram = sizes.get(".data", 0) + sizes.get(".bss", 0)
    return {"flash_bytes": flash, "static_ram_bytes": static_ram, "sections": sizes}


def symbol_sizes(elf: Path) -> list[tuple[str, int, str]]:
    """(name, size, nm type letter) of every sized symbol in the ELF."""
    proc = subprocess.run([tool(PREFIXES[elf_machine(elf)] + "nm"), "-S", str(elf)], capture_output=True, text=True, check=True)
    out = []
    for line in proc.stdout.splitlines():
        parts = line.split()
        if len(parts) == 4:
            out.append((parts[3], int(parts[1], 16), parts[2]))
    return out
