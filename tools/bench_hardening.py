"""Hardening figures (issue 10): the bad-input suite's totals and the security tests per attack family.

    python tools/bench_hardening.py

Runs tests/test_bad_inputs.py (every command fed bad data, options, model files, run folders and
targets) and tests/test_hardening.py (one or more tests per attack family, each reproducing the
attack) with pytest, then prints: cases, clean errors, tracebacks, silent crashes, hangs, and for
each family the security tests passed. Exit status 1 unless every case is a clean error and every
security test passes.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FAMILIES = {  # test-name fragments -> the security family
    "1 code execution from a model file": ("hdf5", "safe_mode", "only_zip_keras"),
    "2 planted shared library in the native cache": ("native_cache", "cached_library"),
    "3 remote clean-up deleting what the run did not create": ("rpi_cleanup", "rpi_timeout"),
    "4 crafted models crashing LiteRT / TFLite Micro in-process": ("crafted_model", "truncated_model", "mutated_models"),
    "5 resource exhaustion from tiny inputs": ("huge_label", "absurd_sample_rate", "fifo", "zip_bomb"),
}


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        xml = Path(tmp) / "junit.xml"
        env = dict(os.environ, PYTHONPATH=str(ROOT), TF_USE_LEGACY_KERAS="1", MPLBACKEND="Agg")
        proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider",
                               f"--junitxml={xml}", "tests/test_bad_inputs.py", "tests/test_hardening.py"],
                              cwd=ROOT, env=env, capture_output=True, text=True)
        cases = [(c.get("name"), not list(c)) for c in ET.parse(xml).getroot().iter("testcase")]
    totals = re.search(r"bad-input suite: .*", proc.stdout)
    print(totals.group(0) if totals else "bad-input suite: did not run (see pytest output below)")
    ok = proc.returncode == 0 and totals is not None
    for family, fragments in FAMILIES.items():
        tests = [(name, passed) for name, passed in cases if name.startswith("test_") and any(f in name for f in fragments)]
        passed = sum(p for _, p in tests)
        print(f"security family {family}: {passed}/{len(tests)} tests pass")
        ok &= bool(tests) and passed == len(tests)
    if not ok:
        print(proc.stdout[-4000:])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
