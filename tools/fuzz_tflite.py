"""Fuzz the C generator with crafted models (issue 10 item 4): byte-level mutants of int8 models.

    python tools/fuzz_tflite.py [MODEL.tflite ...] [--mutants 300] [--seed 0] [--inputs 4]

Half the mutants hit only bytes outside the weights (the flatbuffer's tables, shapes, indices,
quantization), where a mutation changes the graph rather than a weight value. Each mutant goes through ``edgernn export MUTANT --format c`` in a child process with a timeout
(a worker that is restarted when it dies or hangs). The only acceptable outcomes are a clean
refusal (exit 2, one ``edgernn: error:`` line) or success. Every exported mutant's C is compiled
with ``-fsanitize=address,undefined`` and run on random inputs: any sanitizer report, crash or hang
counts as a failure (the generated ``invoke`` may return an ERN_ERROR_* status: that is clean).
Default models: an 8-unit int8 GRU and LSTM trained here on a tiny synthetic task.
Prints: tried, refused, exported, sanitizer reports (and every other failure kind).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import select
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

INTERESTING_INT32 = (0, 1, -1, 2, 3, 4, 7, 8, 9, 12, 255, 256, 0x7F, 0x80, 0x7FFF, 0x8000, 0x7FFFFFFF, -0x80000000,
                     6946828, 1 << 20, 1 << 24, -2)
HARNESS = r"""
#include <stdio.h>
#include <stdlib.h>
#include "model.h"
static int8_t in[EDGERNN_MODEL_INPUT_SIZE], out[EDGERNN_MODEL_OUTPUT_SIZE];
int main(int argc, char **argv) {
    unsigned seed = 12345u;
    int runs = argc > 1 ? atoi(argv[1]) : 4, errors = 0;
    for (int r = 0; r < runs; ++r) {
        for (int i = 0; i < EDGERNN_MODEL_INPUT_SIZE; ++i) { seed = seed * 1103515245u + 12345u; in[i] = (int8_t)(seed >> 16); }
        if (edgernn_model_invoke(in, out) != 0) ++errors;
    }
    printf("invoke-errors %d\n", errors);
    return 0;
}
"""
SAN_FLAGS = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer", "-g", "-O1"]


# ---- mutation --------------------------------------------------------------------------------

def structure_offsets(data: bytes, min_len: int = 64) -> np.ndarray:
    """Byte offsets outside the model's large constant buffers (weights): the flatbuffer's tables,
    vectors of indices and shapes, quantization. Found by locating each buffer's bytes in the file."""
    from edgernn.tflite.schema import schema

    s = schema()
    m = s.ModelT.InitFromObj(s.Model.GetRootAsModel(data, 0))
    weights = np.zeros(len(data), bool)
    for buf in m.buffers or []:
        if buf.data is not None and len(buf.data) >= min_len:
            raw = bytes(np.asarray(buf.data, np.uint8))
            at = data.find(raw)
            if at >= 0:
                weights[at:at + len(raw)] = True
    return np.flatnonzero(~weights)


def mutate(data: bytes, rng: np.random.Generator, structure: np.ndarray | None = None) -> bytes:
    """One seeded byte-level mutation: bit flips, random bytes, an interesting int32 or a small delta at an
    aligned offset. With ``structure``, half the mutants hit only bytes outside the weights."""
    b = bytearray(data)
    kind = rng.integers(0, 4)
    targeted = structure is not None and len(structure) and rng.random() < 0.5

    def offset(aligned: bool) -> int:
        i = int(structure[rng.integers(0, len(structure))]) if targeted else int(rng.integers(0, len(b)))
        return min(i // 4 * 4, len(b) - 4) if aligned else i

    for _ in range(int(rng.integers(1, 4))):
        if kind == 0:                                   # flip a bit
            b[offset(False)] ^= 1 << int(rng.integers(0, 8))
        elif kind == 1:                                 # a random byte
            b[offset(False)] = int(rng.integers(0, 256))
        elif kind == 2:                                 # an interesting int32 (lengths, indices, shapes)
            i = offset(True)
            v = INTERESTING_INT32[int(rng.integers(0, len(INTERESTING_INT32)))]
            b[i:i + 4] = int(v & 0xFFFFFFFF).to_bytes(4, "little")
        else:                                           # a small delta to an aligned int32 (shape dims, indices)
            i = offset(True)
            v = int.from_bytes(b[i:i + 4], "little", signed=True) + int(rng.integers(-3, 4))
            b[i:i + 4] = int(v & 0xFFFFFFFF).to_bytes(4, "little")
    return bytes(b)


# ---- the export child ------------------------------------------------------------------------

def worker() -> None:
    """Child: read {"model", "out"} lines, run the CLI in-process, answer one JSON line each."""
    from click.testing import CliRunner

    from edgernn.cli import main

    answers = os.fdopen(os.dup(1), "w")  # our channel; anything libraries print goes to stderr
    os.dup2(2, 1)
    runner = CliRunner()
    for line in sys.stdin:
        job = json.loads(line)
        r = runner.invoke(main, ["export", job["model"], "--format", "c", "--out", job["out"]])
        text = r.output.strip()
        if r.exit_code == 0:
            kind = "exported"
        elif r.exit_code == 2 and text.count("\n") == 0 and text.startswith("edgernn: error:"):
            kind = "refused"
        else:
            kind = "traceback"
            if r.exc_info is not None and not isinstance(r.exception, SystemExit):
                import traceback
                text += "\n" + "".join(traceback.format_exception(*r.exc_info))[-1500:]
        answers.write(json.dumps({"kind": kind, "message": text[-2000:]}) + "\n")
        answers.flush()


class ExportChild:
    def __init__(self):
        self.proc = None

    def start(self):
        env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
                   TF_USE_LEGACY_KERAS="1", TF_CPP_MIN_LOG_LEVEL="3")
        self.proc = subprocess.Popen([sys.executable, __file__, "--worker"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)

    def export(self, model: Path, out: Path, timeout: float) -> dict:
        if self.proc is None or self.proc.poll() is not None:
            self.start()
        self.proc.stdin.write(json.dumps({"model": str(model), "out": str(out)}) + "\n")
        self.proc.stdin.flush()
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        line = self.proc.stdout.readline() if ready else ""
        if not line:
            died = self.proc.poll() is not None
            self.close()
            return {"kind": "crash" if died else "hang", "message": "export child died" if died else "timed out"}
        return json.loads(line)

    def close(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


# ---- compile and run under sanitizers --------------------------------------------------------

def _runtime_object(c_dir: Path, cache: Path) -> Path:
    """The kernels (edgernn_rt.c) compiled once per distinct kernel set: mutants share them."""
    sources = sorted(p for p in c_dir.iterdir() if p.name.startswith(("ern_", "edgernn_rt")))
    key = hashlib.sha256(b"".join(p.name.encode() + p.read_bytes() for p in sources)).hexdigest()[:16]
    obj = cache / f"rt-{key}.o"
    if not obj.is_file():
        subprocess.run(["gcc", "-std=c99", *SAN_FLAGS, "-c", "-o", str(obj), str(c_dir / "edgernn_rt.c")],
                       check=True, capture_output=True)
    return obj


def sanitizer_run(c_dir: Path, runs: int, timeout: float, cache: Path) -> tuple[str, str]:
    """("clean" | "run-error" | "sanitizer" | "compile-error" | "hang", detail)."""
    (c_dir / "harness.c").write_text(HARNESS)
    exe = c_dir / "prog"
    try:
        rt = _runtime_object(c_dir, cache)
    except subprocess.CalledProcessError as e:
        return "compile-error", e.stderr.decode()[-800:]
    cc = subprocess.run(["gcc", "-std=c99", *SAN_FLAGS, "-I", str(c_dir), "-o", str(exe), str(c_dir / "harness.c"),
                         str(c_dir / "model.c"), str(rt)], capture_output=True, text=True)
    if cc.returncode != 0:
        return "compile-error", cc.stderr[-800:]
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0:abort_on_error=0", UBSAN_OPTIONS="print_stacktrace=1")
    try:
        p = subprocess.run([str(exe), str(runs)], capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return "hang", "generated C did not finish"
    report = "runtime error" in p.stderr or "Sanitizer" in p.stderr
    if report or p.returncode != 0:
        return "sanitizer", (p.stderr or f"exit {p.returncode}")[-1500:]
    errors = int(p.stdout.split()[-1]) if p.stdout.startswith("invoke-errors") else -1
    return ("run-error" if errors else "clean"), p.stdout.strip()


# ---- the campaign ----------------------------------------------------------------------------

BAD = ("traceback", "crash", "hang", "sanitizer", "compile-error", "run-hang")


def fuzz(models: list[Path], mutants: int, seed: int = 0, inputs: int = 4, export_timeout: float = 120,
         run_timeout: float = 60, log=print, keep_failures: Path | None = None) -> dict:
    """Run the campaign; returns counts per model and in total, plus the failures' details."""
    child = ExportChild()
    totals, per_model, failures, reasons = Counter(), {}, [], Counter()
    try:
        with tempfile.TemporaryDirectory(prefix="edgernn-fuzz-") as tmp:
            for model in models:
                data, counts = Path(model).read_bytes(), Counter()
                rng = np.random.default_rng([seed, len(per_model)])
                structure = structure_offsets(data)
                for k in range(mutants):
                    mutant = mutate(data, rng, structure)
                    path, out = Path(tmp) / f"m{k}.tflite", Path(tmp) / f"c{k}"
                    path.write_bytes(mutant)
                    r = child.export(path, out, export_timeout)
                    counts["tried"] += 1
                    kind = r["kind"]
                    counts[kind] += 1
                    detail = r["message"]
                    if kind == "refused":  # why, without the file name: "invalid TFLite model: ...", ...
                        reasons[re.sub(r"^edgernn: error: (\S+?\.tflite: )?", "", detail)[:60]] += 1
                    if kind == "exported":
                        outcome, detail = sanitizer_run(out, inputs, run_timeout, Path(tmp))
                        counts[{"hang": "run-hang"}.get(outcome, outcome)] += 1
                        kind = {"hang": "run-hang"}.get(outcome, outcome)
                    if kind in BAD:
                        failures.append({"model": str(model), "mutant": k, "kind": kind, "detail": detail})
                        if keep_failures is not None:
                            keep_failures.mkdir(parents=True, exist_ok=True)
                            (keep_failures / f"{Path(model).stem}-{k}.tflite").write_bytes(mutant)
                    path.unlink()
                    shutil.rmtree(out, ignore_errors=True)
                per_model[str(model)] = dict(counts)
                totals.update(counts)
                log(f"{model}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    finally:
        child.close()
    return {"totals": dict(totals), "per_model": per_model, "failures": failures, "refusals": reasons}


def tiny_models(folder: Path) -> list[Path]:
    """An 8-unit int8 GRU and LSTM on a tiny synthetic 3-class task (seconds to train)."""
    from edgernn import api

    rng = np.random.default_rng(0)
    n, t, f = 240, 12, 4
    y = rng.integers(0, 3, n)
    X = rng.normal(0, 0.3, (n, t, f)).astype(np.float32)
    X[np.arange(n), :, y] += 1.0
    np.savez(folder / "tiny.npz", X=X, y=y, split=np.array(["train"] * 160 + ["val"] * 40 + ["test"] * 40))
    models = []
    for arch in ("gru", "lstm"):
        run = api.train(task="classify", arch=arch, units=8, data=folder / "tiny.npz", out=folder / arch, epochs=3,
                        progress=False)
        models.append(api.quantize(run, mode="int8", calibration_samples=40))
    return models


def summary_line(totals: dict) -> str:
    bad = sum(totals.get(k, 0) for k in BAD if k != "sanitizer")
    return (f"tried {totals.get('tried', 0)}, refused {totals.get('refused', 0)}, exported {totals.get('exported', 0)}, "
            f"sanitizer reports {totals.get('sanitizer', 0)}, other failures {bad} "
            f"(tracebacks {totals.get('traceback', 0)}, export crashes {totals.get('crash', 0)}, "
            f"export hangs {totals.get('hang', 0)}, compile errors {totals.get('compile-error', 0)}, "
            f"run hangs {totals.get('run-hang', 0)}); runs stopped by an ERN_ERROR status {totals.get('run-error', 0)}")


def main_cli() -> int:
    if "--worker" in sys.argv:
        worker()
        return 0
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="*", type=Path)
    ap.add_argument("--mutants", type=int, default=300, help="mutants per model (default 300)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--inputs", type=int, default=4, help="random inputs per exported mutant")
    ap.add_argument("--keep-failures", type=Path, help="save every failing mutant here")
    args = ap.parse_args()
    t0 = time.time()
    with tempfile.TemporaryDirectory(prefix="edgernn-fuzz-models-") as tmp:
        models = args.models or tiny_models(Path(tmp))
        r = fuzz(models, args.mutants, args.seed, args.inputs, keep_failures=args.keep_failures)
    print("most common refusals:")
    for reason, n in r["refusals"].most_common(12):
        print(f"  {n:4d}  {reason}")
    for f in r["failures"][:20]:
        print(f"FAIL {f['kind']} {Path(f['model']).name} mutant {f['mutant']}: {f['detail'][:400]}")
    print(summary_line(r["totals"]) + f" [{time.time() - t0:.0f} s]")
    return 1 if r["failures"] else 0


if __name__ == "__main__":
    sys.exit(main_cli())
