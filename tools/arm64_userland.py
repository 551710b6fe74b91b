"""An emulated 64-bit Raspberry Pi OS-like userland for `bench --target rpi` on an x86 machine.

    python tools/arm64_userland.py [--dir ~/.cache/edgernn/arm64-userland]   # prints the python to use

Debian bookworm arm64 (the base of 64-bit Raspberry Pi OS): Python 3.11 and its libraries are
fetched with apt-get (a private package-list folder, so the machine's apt state is untouched) and
unpacked with dpkg -x; numpy and the aarch64 `ai-edge-litert` wheel (the ones a Pi installs) go in
with `pip install --platform manylinux_2_27_aarch64`. `DIR/python3` is a wrapper that runs that
Python under the installed user-mode emulator `qemu-aarch64`; pass it as `--remote-python` with the
loopback sshd (or any SSH host with qemu-user):

    edgernn bench model_int8.tflite --target rpi --host $USER@127.0.0.1 --remote-python DIR/python3

Why the fake /proc/cpuinfo: LiteRT's CPU detection (the cpuinfo library) parses /proc/cpuinfo, and
under qemu-user it reads the x86 host's, finds no ARM core and dereferences NULL: `qemu: uncaught
target signal 11 (Segmentation fault)` inside `Interpreter.__init__` (after reading
/sys/devices/system/cpu/*/cache, per `qemu-aarch64 -strace`). qemu-aarch64 looks up absolute paths
under its `-L` prefix first, so `DIR/root/proc/cpuinfo` describes a Cortex-A72 (Raspberry Pi 4)
instead. Its Model line says the figures come from emulation, and every bench row carries it as
`cpu_model`: latency measured this way is the emulator's, not a Pi's.

Why `-cpu cortex-a72` (the Raspberry Pi 4's core): with qemu 7.2's default `max` CPU (SVE and more),
LiteRT's XNNPACK delegate picks kernels whose results under the emulator differ from x86's (e.g.
GRU-64 output row [-107, -111, -77, ...] instead of [-128, 7, -17, ...]); LiteRT's own kernels
(optimized and reference) agree with x86 on either CPU, and so does XNNPACK with `cortex-a72`,
`cortex-a53` or `max,sve=off`. tests/targets/test_rpi_arm64.py checks the outputs byte for byte.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

DEBS = ("python3.11-minimal", "libpython3.11-minimal", "libpython3.11-stdlib", "python3.11", "libc6", "libgcc-s1",
        "libstdc++6", "zlib1g", "libexpat1", "libssl3", "libffi8", "libbz2-1.0", "liblzma5", "libsqlite3-0",
        "libncursesw6", "libtinfo6", "libreadline8", "libuuid1", "libcrypt1", "libnsl2", "libtirpc3", "libdb5.3",
        "libgdbm6", "media-types")
WHEELS = ("numpy==2.4.6", "ai-edge-litert==2.3.0")
EMULATED_MODEL = "EMULATED by qemu-aarch64 user mode on x86 (Cortex-A72 cpuinfo), not a Raspberry Pi"
CORE = ("processor\t: {i}\nBogoMIPS\t: 108.00\nFeatures\t: fp asimd evtstrm crc32 cpuid\nCPU implementer\t: 0x41\n"
        "CPU architecture: 8\nCPU variant\t: 0x0\nCPU part\t: 0xd08\nCPU revision\t: 3\n")


def run(cmd: list[str], **kw) -> None:
    print("+ " + " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, **kw)


def build(folder: Path) -> Path:
    qemu = shutil.which("qemu-aarch64")
    if qemu is None:
        sys.exit("qemu-aarch64 not found: apt-get install qemu-user")
    folder = folder.resolve()
    root, apt, debs, site = folder / "root", folder / "apt", folder / "debs", folder / "site-packages"
    for d in (apt / "lists" / "partial", apt / "cache" / "archives" / "partial", debs):
        d.mkdir(parents=True, exist_ok=True)
    # A private apt state: arm64 package lists without `dpkg --add-architecture` on this machine.
    opts = [f"-oDir::State::Lists={apt / 'lists'}", f"-oDir::Cache={apt / 'cache'}", "-oAPT::Architecture=arm64",
            "-oAPT::Architectures::=arm64", "-oDir::State::status=/dev/null", "-oAPT::Sandbox::User=root"]
    run(["apt-get", "-q", *opts, "update"])
    run(["apt-get", "-q", *opts, "download", *[f"{p}:arm64" if p != "media-types" else p for p in DEBS]], cwd=debs)
    root.mkdir(exist_ok=True)
    for deb in sorted(debs.glob("*.deb")):
        run(["dpkg", "-x", str(deb), str(root)])
    run([sys.executable, "-m", "pip", "install", "-q", "--upgrade", "--target", str(site), "--only-binary=:all:",
         "--implementation", "cp", "--python-version", "3.11", "--platform", "manylinux_2_28_aarch64",
         "--platform", "manylinux_2_27_aarch64", "--platform", "manylinux_2_17_aarch64", *WHEELS])
    (root / "proc").mkdir(exist_ok=True)
    (root / "proc" / "cpuinfo").write_text("\n".join(CORE.format(i=i) for i in range(4)) +
                                           f"\nHardware\t: BCM2835\nModel\t\t: {EMULATED_MODEL}\n")
    wrapper = folder / "python3"
    wrapper.write_text("#!/bin/sh\n# Python 3.11 of Debian bookworm arm64 under qemu-aarch64 (made by tools/arm64_userland.py)\n"
                       f"PYTHONPATH='{site}' PYTHONNOUSERSITE=1 exec '{qemu}' -cpu cortex-a72 -L '{root}' '{root}/usr/bin/python3.11' \"$@\"\n")
    wrapper.chmod(0o755)
    out = subprocess.run([str(wrapper), "-c", "import platform, numpy; from ai_edge_litert.interpreter import "
                          "Interpreter; print(platform.machine(), platform.python_version(), numpy.__version__)"],
                         capture_output=True, text=True, timeout=300)
    if out.returncode != 0:
        sys.exit(f"the arm64 Python does not start: {out.stderr.strip()[-500:]}")
    print(f"arm64 userland ready: {out.stdout.strip()} ({wrapper})")
    return wrapper


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dir", default=str(Path.home() / ".cache" / "edgernn" / "arm64-userland"))
    a = p.parse_args(argv)
    print(build(Path(a.dir)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
