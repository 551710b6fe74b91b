"""Is the int8 ``.tflite`` of a fixed seed byte-identical at another commit?

    python tools/check_tflite_same.py BASE_REV [--data PATH.npz] [--arch gru,lstm,rnn] [--seed 7]

Trains a small classifier on the same data with the same seed and quantizes it, once with the code of
``BASE_REV`` (its ``edgernn/`` and ``firmware/`` extracted with ``git archive`` into a temporary folder
and imported from there in an isolated child) and once with the working tree's, then compares the two
``model_int8.tflite`` files byte for byte (sha256). A refactor that claims "behaviour unchanged"
(issue 24) must pass this; tools/check_codegen_same.py covers the generated C and tools/bench_mcu.py the
devices. Without ``--data`` the bundled ItalyPowerDemand set is written (needs the ``real`` extra).
Exit status 0 when every cell's bytes are equal, 1 otherwise.
"""
from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from edgernn.procs import python_argv  # noqa: E402

# Runs in the child: the tree given first on sys.path is the one imported (the venv's editable finder
# comes after sys.path), so the base commit's code trains and quantizes.
TRAIN_AND_QUANTIZE = """
import sys
root, data, out, arch, seed = sys.argv[1:6]
sys.path.insert(0, root)
import edgernn
assert edgernn.__file__.startswith(root), edgernn.__file__
from edgernn import api
api.train("classify", arch, data, out, units=16, epochs=3, seed=int(seed), overwrite=True)
api.quantize(out)
"""


def int8_model(root: Path, data: Path, out: Path, arch: str, seed: int) -> bytes:
    """The int8 model that the code under ``root`` makes from ``data`` with ``seed``."""
    subprocess.run(python_argv("-c", TRAIN_AND_QUANTIZE, root, data, out, arch, seed), check=True,
                   capture_output=True, text=True)
    return (out / "model_int8.tflite").read_bytes()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("base", help="The commit to compare with (e.g. ffdc600).")
    ap.add_argument("--data", type=Path, default=None, help="A classification .npz (default: bundled ItalyPowerDemand).")
    ap.add_argument("--arch", default="gru,lstm,rnn", help="Cells to train, comma-separated.")
    ap.add_argument("--seed", type=int, default=7, help="The training seed used by both trees.")
    args = ap.parse_args()
    same = True
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data = args.data
        if data is None:
            from edgernn.data.bundled import write_bundled

            data = write_bundled("ItalyPowerDemand", tmp / "ItalyPowerDemand.npz")
        base_root = tmp / "base"
        base_root.mkdir()
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.base, "edgernn", "firmware"],
                                 check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(base_root)], input=archive, check=True)
        for arch in args.arch.split(","):
            base = int8_model(base_root, data.resolve(), tmp / f"{arch}-base", arch, args.seed)
            new = int8_model(ROOT, data.resolve(), tmp / f"{arch}-new", arch, args.seed)
            digest = lambda b: hashlib.sha256(b).hexdigest()[:16]  # noqa: E731
            equal = base == new
            same &= equal
            print(f"{arch}: {args.base} {digest(base)} ({len(base)} B), working tree {digest(new)} ({len(new)} B): "
                  f"{'byte-identical' if equal else 'DIFFERENT'}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
