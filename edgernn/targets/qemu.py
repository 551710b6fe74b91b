"""Launching QEMU for the firmware apps, sandboxed (docs/design/hardening.md).

Semihosting (``bkpt 0xAB``) gives the guest the host: SYS_SYSTEM runs a shell command, SYS_OPEN and
SYS_WRITE write any file QEMU may. QEMU 7.2 cannot narrow it to console output and exit
(``-semihosting-config`` has only enable, target, chardev, userspace and arg; nothing per call), so:

- an ELF that ``edgernn firmware build`` made gets semihosting, which edgernn's apps use for output and
  their exit status only (firmware/boards/startup.c). Proof is a record beside the ELF
  (``<elf>.built.json``): its SHA-256, authenticated with a per-user secret key (HMAC), so a record
  copied or written by someone else next to their own ELF does not pass;
- any other ELF runs only when the caller asks for it (``allow_foreign``, the CLI's ``--foreign``), and
  then without semihosting: it can talk over the UART (QEMU's stdout) and nothing else;
- every run: QEMU's seccomp sandbox (no process spawning, no privilege changes) and a fresh temporary
  working folder, removed afterwards, holding a copy of the checked bytes, which is what QEMU loads (the
  file cannot be swapped between the check and the run).
"""
from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import re
import secrets
import stat
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Iterator

from edgernn import io
from edgernn.errors import UserError
from edgernn.procs import tied_to_parent
from edgernn.targets.boards import get_board
from edgernn.targets.toolchain import QEMU, check_arm_elf, tool

SANDBOX = ["-sandbox", "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny"]
SEMIHOSTING = ["-semihosting-config", "enable=on,target=native"]
RECORD_SUFFIX = ".built.json"
MAX_ELF_BYTES = 64 * 1024 * 1024


# --- which ELFs edgernn built ---------------------------------------------------------------------

def _key_file() -> Path:
    base = os.environ.get("XDG_CACHE_HOME", "")
    return (Path(base) if os.path.isabs(base) else Path.home() / ".cache") / "edgernn" / "firmware.key"


def _key() -> bytes:
    """This user's secret for authenticating build records; made on first use, readable by this user only."""
    path = _key_file()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with contextlib.suppress(FileExistsError):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(secrets.token_bytes(32))
    st = os.lstat(path)
    if not stat.S_ISREG(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
        raise UserError(f"{path}: not a private file of this user; remove it (edgernn makes a new one)")
    key = path.read_bytes()
    if len(key) != 32:
        raise UserError(f"{path}: damaged (expected 32 bytes); remove it (edgernn makes a new one)")
    return key


def _mac(digest: str) -> str:
    return hmac.new(_key(), digest.encode(), hashlib.sha256).hexdigest()


def record_path(elf: Path) -> Path:
    return elf.with_name(elf.name + RECORD_SUFFIX)


def record_built(elf: Path, data: bytes) -> Path:
    """Record that ``data`` (the bytes about to be installed as ``elf``) is an ELF edgernn built."""
    digest = hashlib.sha256(data).hexdigest()
    return io.write_json(record_path(elf), {"elf": elf.name, "sha256": digest, "hmac_sha256": _mac(digest)})


def built_by_edgernn(elf: Path, data: bytes) -> bool:
    """Whether the record beside ``elf`` says this user's edgernn built exactly ``data``."""
    try:
        rec = json.loads(io.read_user_file(record_path(elf), "build record", 4096))
        digest, mac = rec["sha256"], rec["hmac_sha256"]
    except (UserError, ValueError, KeyError, TypeError):
        return False
    if not isinstance(digest, str) or not isinstance(mac, str):
        return False
    return digest == hashlib.sha256(data).hexdigest() and hmac.compare_digest(mac, _mac(digest))


def _private_copy(elf: Path, allow_foreign: bool, folder: str) -> tuple[Path, bool]:
    """A copy of ``elf`` in our ``folder`` (so QEMU runs the very bytes that were checked), and whether it may
    use semihosting: True for an ELF edgernn built; False for another one the caller allowed."""
    check_arm_elf(elf)
    data = io.read_user_file(elf, "firmware ELF", MAX_ELF_BYTES)
    copy = Path(folder) / "firmware.elf"
    copy.write_bytes(data)
    if built_by_edgernn(elf, data):
        return copy, True
    if not allow_foreign:
        raise UserError(f"{elf}: not built by `edgernn firmware build` here (no valid {elf.name}{RECORD_SUFFIX} "
                        "beside it); pass --foreign to run it anyway, sandboxed: no semihosting (no host files or "
                        "commands), output over the UART only")
    return copy, False


# --- running --------------------------------------------------------------------------------------

def qemu_argv(elf: Path, board: str, semihosting: bool, serial: str = "null", icount: bool = True) -> list[str]:
    """QEMU's command line for ``elf`` on ``board``: the board's UART on ``serial`` ("null", "stdio", "pty")."""
    b = get_board(board)
    serials = ["-serial", "null"] * b.uart_qemu_index + ["-serial", serial]
    extra = ["-bios", "none"] if b.arch == "riscv" else []  # no OpenSBI: the ELF is the whole program
    return [tool(QEMU[b.arch]), "-M", b.qemu_machine, *extra, "-display", "none", "-monitor", "none", *serials,
            *(["-icount", "shift=0"] if icount else []), *SANDBOX, *(SEMIHOSTING if semihosting else []),
            "-kernel", str(elf.resolve())]


def run(elf: str | Path, board: str, timeout: float, allow_foreign: bool = False) -> subprocess.CompletedProcess:
    """Run ``elf`` to its end in QEMU (raises subprocess.TimeoutExpired); stdout and stderr as text.

    An ELF edgernn built reports over semihosting, another one over the UART (both land in the output)."""
    with tempfile.TemporaryDirectory(prefix="edgernn-qemu-") as cwd:
        copy, trusted = _private_copy(Path(elf), allow_foreign, cwd)
        cmd = qemu_argv(copy, board, semihosting=trusted, serial="null" if trusted else "stdio")
        return subprocess.run(tied_to_parent(cmd), capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL, cwd=cwd)


def run_semihosted(elf: str | Path, board: str, timeout: float, what: str = "firmware",
                   allow_foreign: bool = False) -> tuple[str, int]:
    """Run an ELF to its end: what it printed and its exit status. A file that is not an ARM executable, a
    hang and a crash (EDGERNN-FAULT) are errors; ``what`` names it in them. An ELF edgernn built reports over
    semihosting; a foreign one (``allow_foreign``) runs without it and can only print on the UART."""
    elf = Path(elf)
    get_board(board)
    check_arm_elf(elf)
    if not (isinstance(timeout, (int, float)) and 0 < timeout <= 24 * 3600):
        raise UserError(f"--timeout must be more than 0 and at most a day, got {timeout}")
    try:
        proc = run(elf, board, timeout, allow_foreign=allow_foreign)
    except subprocess.TimeoutExpired:
        raise UserError(f"{what} on {board} did not finish within {timeout:.0f} s (hung?); "
                        "raise --timeout for very large models or long audio") from None
    text = proc.stdout + proc.stderr
    if "EDGERNN-FAULT" in text:
        raise UserError(f"{what} on {board} crashed: {text.strip().splitlines()[-1][:200]}")
    return text, proc.returncode


@contextlib.contextmanager
def serial(elf: str | Path, board: str = "mps2-an386", timeout: float = 20,
           allow_foreign: bool = False) -> Iterator[str]:
    """Run firmware in QEMU with its UART on a pseudo-terminal; yields the pty path."""
    elf = Path(elf)
    with tempfile.TemporaryDirectory(prefix="edgernn-qemu-") as cwd:
        copy, trusted = _private_copy(elf, allow_foreign, cwd)
        proc = subprocess.Popen(tied_to_parent(qemu_argv(copy, board, semihosting=trusted, serial="pty")),
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                cwd=cwd)
        try:
            port, deadline = None, time.monotonic() + timeout
            while port is None and time.monotonic() < deadline:
                line = proc.stdout.readline()
                if not line and proc.poll() is not None:
                    break
                m = re.search(r"char device redirected to (/dev/pts/\d+)", line)
                port = m.group(1) if m else None
            if port is None:
                raise UserError(f"QEMU did not expose the {board} UART on a pty")
            try:
                yield port
            except OSError as e:  # pyserial's errors are OSErrors: the pty closed, as when QEMU stops
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=2)
                if proc.poll() is None:
                    raise UserError(f"{elf}: lost QEMU's UART ({str(e)[:200]})") from None
                last = (proc.stdout.read() or "").strip().splitlines()[-1:] or [str(e)]
                raise UserError(f"{elf}: QEMU stopped while the host was talking to it ({last[0][:200]})") from None
        finally:
            proc.kill()
            proc.wait(timeout=10)


@contextlib.contextmanager
def exec_trace(elf: str | Path, board: str, skip: tuple[int, int] | None = None) -> Iterator[Iterator[str]]:
    """Run an ELF edgernn built with QEMU logging every translated block's instructions and every executed
    block (``-d in_asm,exec,nochain``, no -icount); yields the log's lines as they come. QEMU is stopped
    when the caller leaves the block (it need not read to the end). ``skip``: an address range [start, end)
    left out of the log (``-dfilter``), such as the calibration loop. For cycle estimates (targets/cycles.py)."""
    elf = Path(elf)
    with tempfile.TemporaryDirectory(prefix="edgernn-qemu-") as cwd:
        copy, trusted = _private_copy(elf, False, cwd)
        # No -icount: under it QEMU also logs blocks it enters and leaves at once, before their first instruction,
        # when the instruction budget runs out (hundreds per inference). Without it only an interrupt does
        # that (SysTick, every 2^24 ticks of real time): the profile is then within tens of instructions.
        cmd = qemu_argv(copy, board, semihosting=trusted, icount=False) + ["-d", "in_asm,exec,nochain"]
        if skip is not None:
            cmd += ["-dfilter", f"0..0x{skip[0] - 1:x},0x{skip[1]:x}..0xffffffff"]
        proc = subprocess.Popen(tied_to_parent(cmd), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True, cwd=cwd, bufsize=1 << 20)
        try:
            yield iter(proc.stderr.readline, "")
        finally:
            proc.kill()
            proc.wait(timeout=10)
