"""Sandboxed firmware runs (issue #30 item 3, docs/design/hardening.md, edgernn/targets/qemu.py).

A tiny ELF built here asks the semihosting host to run a shell command (SYS_SYSTEM) and to write a
host file (SYS_OPEN + SYS_WRITE). On ffdc600 `firmware run` and `firmware stream` ran it with
``-semihosting-config enable=on,target=native``: both happened. Now an ELF without a valid build
record is refused, and with --foreign it runs without semihosting: neither happens.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from edgernn.cli import main
from edgernn.export.codegen.sources import firmware_dir
from edgernn.targets import qemu
from edgernn.targets.boards import get_board, linker_script

pytestmark = pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None or shutil.which("qemu-system-arm") is None,
                                reason="needs the Arm toolchain and QEMU")

EVIL_C = r"""
#include <stdint.h>
static int semihost(int op, const void *arg) {
    register int r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}
static uint32_t len(const char *s) { uint32_t n = 0; while (s[n]) ++n; return n; }
static const char cmd[] = "touch MARKER", path[] = "HOSTFILE", text[] = "written by the guest\n";
int main(void) {
    const uint32_t sys[2] = {(uint32_t)cmd, len(cmd)};
    semihost(0x12, sys);                                   /* SYS_SYSTEM */
    const uint32_t open[3] = {(uint32_t)path, 4, len(path)}; /* mode 4: "w" */
    int fd = semihost(0x01, open);                         /* SYS_OPEN */
    const uint32_t wr[3] = {(uint32_t)fd, (uint32_t)text, len(text)};
    semihost(0x05, wr);                                    /* SYS_WRITE */
    const uint32_t cl[1] = {(uint32_t)fd};
    semihost(0x02, cl);                                    /* SYS_CLOSE */
    return 0;
}
"""


@pytest.fixture
def evil(tmp_path):
    """The ELF, the marker its shell command would create and the host file it would write."""
    marker, host_file = tmp_path / "PWNED", tmp_path / "host-file.txt"
    src = tmp_path / "src"
    src.mkdir()
    (src / "link.ld").write_text(linker_script(get_board("mps2-an386")))
    (src / "evil.c").write_text(EVIL_C.replace("MARKER", str(marker)).replace("HOSTFILE", str(host_file)))
    elf = tmp_path / "evil.elf"
    subprocess.run(["arm-none-eabi-gcc", "-mcpu=cortex-m4", "-mthumb", "-O2", "-ffreestanding", "-nostdlib",
                    "-T", str(src / "link.ld"), str(firmware_dir() / "boards" / "startup.c"), str(src / "evil.c"),
                    "-lgcc", "-o", str(elf)], check=True)
    return elf, marker, host_file


def touched(marker: Path, host_file: Path, wait: float = 1.0) -> list[str]:
    """What the guest reached on the host (a shell command runs on its own: give it a moment)."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline and not (marker.exists() or host_file.exists()):
        time.sleep(0.05)
    return [p.name for p in (marker, host_file) if p.exists()]


def _wav(tmp_path: Path) -> Path:
    from edgernn.data.wav import write_wav

    write_wav(tmp_path / "a.wav", np.zeros(1600, np.float32))
    return tmp_path / "a.wav"


@pytest.mark.parametrize("command", ["run", "run-kws", "stream"])
def test_an_elf_edgernn_did_not_build_is_refused(evil, tmp_path, command):
    elf, marker, host_file = evil
    args = {"run": ["firmware", "run", elf, "--timeout", "10"],
            "run-kws": ["firmware", "run", elf, "--app", "kws", "--timeout", "10"],
            "stream": ["firmware", "stream", elf, "--wav", _wav(tmp_path), "--timeout", "10"]}[command]
    r = CliRunner().invoke(main, [str(a) for a in args])
    assert touched(marker, host_file) == [], f"firmware {command}: the ELF reached the host"
    assert r.exit_code == 2 and "not built by `edgernn firmware build`" in r.output and "--foreign" in r.output, \
        r.output


@pytest.mark.parametrize("command", ["run", "stream"])
def test_a_foreign_elf_runs_without_semihosting(evil, tmp_path, command):
    elf, marker, host_file = evil
    args = {"run": ["firmware", "run", elf, "--timeout", "10", "--foreign"],
            "stream": ["firmware", "stream", elf, "--wav", _wav(tmp_path), "--timeout", "5", "--foreign"]}[command]
    r = CliRunner().invoke(main, [str(a) for a in args])
    assert touched(marker, host_file) == [], f"firmware {command} --foreign: the ELF reached the host"
    assert r.exit_code == 2 and "Traceback" not in r.output, r.output
    assert "printed no summary" in r.output or "QEMU stopped" in r.output, r.output  # it ran, and said nothing


def test_a_forged_or_stale_record_does_not_make_an_elf_trusted(evil, tmp_path):
    elf, marker, host_file = evil
    data = elf.read_bytes()
    import hashlib

    digest = hashlib.sha256(data).hexdigest()
    qemu.record_path(elf).write_text(json.dumps({"elf": elf.name, "sha256": digest, "hmac_sha256": "0" * 64}))
    assert not qemu.built_by_edgernn(elf, data)  # a record anyone can write: the MAC needs this user's key
    qemu.record_built(elf, data)
    assert qemu.built_by_edgernn(elf, data)
    elf.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))  # the ELF changed after its build
    assert not qemu.built_by_edgernn(elf, elf.read_bytes())
    r = CliRunner().invoke(main, ["firmware", "run", str(elf), "--timeout", "10"])
    assert r.exit_code == 2 and "not built by" in r.output
    assert touched(marker, host_file) == []


def test_qemu_cannot_start_processes_even_for_a_trusted_elf(evil):
    """Defense in depth: QEMU's seccomp sandbox (spawn=deny) stops SYS_SYSTEM whatever the ELF."""
    elf, marker, host_file = evil
    qemu.record_built(elf, elf.read_bytes())  # as if edgernn had built it
    try:
        qemu.run(elf, "mps2-an386", timeout=20)
    except subprocess.TimeoutExpired:
        pass
    assert not marker.exists()


def test_the_semihosting_attack_is_real_without_the_sandbox(evil):
    """The ELF does what it says under the QEMU command line of ffdc600 (so the tests above can fail)."""
    elf, marker, host_file = evil
    b = get_board("mps2-an386")
    subprocess.run(["qemu-system-arm", "-M", b.qemu_machine, "-nographic", "-monitor", "none", "-serial", "null",
                    "-semihosting-config", "enable=on,target=native", "-kernel", str(elf)], timeout=30,
                   capture_output=True, cwd=elf.parent)
    assert sorted(touched(marker, host_file)) == ["PWNED", "host-file.txt"]


def test_firmware_build_records_the_elf_it_made(tiny_runs, tmp_path):
    from edgernn import api

    model = api.quantize(tiny_runs["gru"], mode="int8", calibration_samples=20, out=tmp_path / "m.tflite")
    elf = api.firmware_build(model, out=tmp_path / "fw", vectors=1)
    record = json.loads(qemu.record_path(elf).read_text())
    assert record["elf"] == elf.name and qemu.built_by_edgernn(elf, elf.read_bytes())
    assert api.firmware_run(elf)["vectors"] == 1  # trusted: semihosting output and exit status as before


@pytest.mark.parametrize("body", [b"[1, 2]", b"{\"run\": 5}", b"\xff", b"[" * 100_000, b"{\"run\": \"/nonexistent\"}"])
def test_damaged_firmware_records_are_ignored_not_a_traceback(tmp_path, body):
    """The records beside an ELF are user files: a damaged one names no run and no build."""
    from edgernn.targets.flash import build_record
    from edgernn.targets.kws_firmware import recorded_run

    elf = tmp_path / "kws.elf"
    elf.write_bytes(b"\x7fELF")
    for name in ("firmware-kws.json", "firmware-kws-serial.json"):
        (tmp_path / name).write_bytes(body)
    assert recorded_run(elf) is None
    assert build_record(elf) is None


def test_a_firmware_record_names_its_run(tmp_path):
    from edgernn.targets.flash import build_record
    from edgernn.targets.kws_firmware import recorded_run

    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text("{}")
    elf = tmp_path / "kws.elf"
    elf.write_bytes(b"\x7fELF")
    (tmp_path / "firmware-kws-serial.json").write_text(json.dumps({"run": str(run), "elf": str(elf)}))
    assert recorded_run(elf) == run
    assert recorded_run(elf, serial_only=True) == run
    assert build_record(elf)["run"] == str(run)
