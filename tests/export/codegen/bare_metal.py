"""Per-kernel golden tests on an emulated board: a small C program (a ``cases.h`` of test data and a
harness that prints one summary line) built with the firmware's start-up files and the board's flags,
its machine code checked for the instructions the kernel must use, and run in QEMU."""
from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np

from edgernn.export.codegen.sources import firmware_dir
from edgernn.targets import qemu
from edgernn.targets.boards import get_board, linker_script


def c_array(values) -> str:
    """The values as the body of a C array initializer."""
    return ", ".join(str(int(v)) for v in np.asarray(values).ravel())


def build_and_run(tmp_path: Path, board_name: str, header: list[str], harness: str, *, defines: tuple[str, ...],
                  needles: tuple[str, ...], objdump_args: tuple[str, ...] = (), what: str) -> str:
    """Compile ``harness`` with cases.h (``header``'s lines) for the board, with ``defines`` (e.g.
    ``-DERN_USE_DSP=1``) and warnings as errors; assert objdump's listing holds every ``needle``; run it
    semihosted in QEMU and return what it printed."""
    board = get_board(board_name)
    (tmp_path / "cases.h").write_text("#include \"ern_common.h\"\n" + "\n".join(header) + "\n")
    (tmp_path / "harness.c").write_text(harness)
    (tmp_path / "link.ld").write_text(linker_script(board))
    fw = firmware_dir()
    sources = [fw / "boards" / f for f in ("startup.c", "timing.c", "text.c", "board_common.c")]
    elf = tmp_path / "kernel-test.elf"
    cmd = ["arm-none-eabi-gcc", f"-mcpu={board.cpu}", "-mthumb", *board.arch_flags, "-O2", "-std=c99", "-ffreestanding",
           "-fno-builtin", "-Wall", "-Wextra", "-Werror", *defines, "-I", str(tmp_path), "-I", str(fw / "boards"),
           "-I", str(fw / "runtime"), "-nostdlib", "-T", str(tmp_path / "link.ld"), "-Wl,--gc-sections",
           *map(str, sources), str(tmp_path / "harness.c"), str(fw / "runtime" / "ern_dot_s8.c"), "-lgcc", "-o", str(elf)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    code = subprocess.run(["arm-none-eabi-objdump", "-d", *objdump_args, str(elf)], capture_output=True, text=True).stdout
    for needle in needles:
        assert needle in code, needle
    qemu.record_built(elf, elf.read_bytes())
    text, _ = qemu.run_semihosted(elf, board.name, timeout=60, what=what)
    return text
