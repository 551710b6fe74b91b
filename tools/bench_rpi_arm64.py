"""`bench --target rpi` on ARM64 code (issue 15): the reference models through a loopback sshd into
the emulated Debian bookworm arm64 userland (tools/arm64_userland.py), next to the x86 result.

    python tools/bench_rpi_arm64.py [--userland ~/.cache/edgernn/arm64-userland] [--limit N]

Starts Debian's sshd on a free loopback port with throwaway keys, runs `bench --target rpi
--remote-python USERLAND/python3` (LiteRT, the aarch64 wheel) on models/*/model_int8.tflite and
`bench --target cpu` on the same files, and prints both rows: accuracy on the test split (must be
equal), p50 latency (the ARM64 one is the emulator's: its cpu_model says EMULATED), machine.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edgernn import api  # noqa: E402
from edgernn.studies.loopback import loopback_sshd  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--userland", default=str(Path.home() / ".cache" / "edgernn" / "arm64-userland"))
    p.add_argument("--limit", type=int, default=None, help="test samples per model (default: the whole split)")
    a = p.parse_args(argv)
    python = Path(a.userland) / "python3"
    if not python.is_file():
        subprocess.run([sys.executable, str(ROOT / "tools" / "arm64_userland.py"), "--dir", a.userland], check=True)
    timing = {"warmup": 5, "runs": 50, "repeats": 1, "progress": False}
    with tempfile.TemporaryDirectory() as tmp, tempfile.TemporaryDirectory(prefix="edgernn-sshd-") as keys, \
            loopback_sshd(Path(keys)) as ssh:
        anomaly = api.synth_anomaly(Path(tmp) / "anomaly", seed=0)
        print(f"{'model':<16} {'target':<6} {'machine':<8} {'metric':<9} {'value':>7} {'p50 ms':>8}  cpu_model")
        for name in ("kws-gru64", "kws-lstm64", "anomaly-lstm32"):
            model = ROOT / "models" / name / "model_int8.tflite"
            data = anomaly if name.startswith("anomaly") else None
            x86 = api.bench([model], target="cpu", runtimes=["litert"], data=data, limit=a.limit, **timing)[0]
            arm = api.bench([model], target="rpi", runtimes=["litert"], data=data, limit=a.limit,
                            remote_python=str(python), **timing, **ssh)[0]
            for r in (x86, arm):
                if r.get("error"):
                    print(f"{name:<16} {r['target']:<6} error: {r['error']}")
                    continue
                print(f"{name:<16} {r['target']:<6} {r['machine']:<8} {r['metric'] or '-':<9} "
                      f"{r['accuracy'] if r['accuracy'] is not None else float('nan'):>7.4f} "
                      f"{r['latency_ms']['p50']:>8.3f}  {r['cpu_model']}")
            same = x86.get("accuracy") is not None and x86.get("accuracy") == arm.get("accuracy")
            print(f"{'':<16} same accuracy on ARM64 as on x86: {same}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
