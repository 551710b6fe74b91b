"""Host native engine vs LiteRT (issue 27, item 6): p50 latency per invoke, interleaved in one process.

    python tools/bench_host_native.py [MODEL ...] [--runs 200] [--repeats 5] [--check 16]
                                      [--json docs/results/data/host-native.json]

MODEL defaults to the shipped models/kws-gru64 and models/kws-lstm64 int8 files. Per model, three
runtimes are loaded side by side: the native C engine as `bench --target cpu` builds it (AVX2 kernels on
a CPU with AVX2, ``native_cflags``), the same engine built portable (``simd=False``), and LiteRT (1
thread). Each repeat times ``--runs`` single invokes of each runtime in turn (the order rotates per
repeat), so a load spike from other processes hits all three alike; the table gives the median over
repeats of each repeat's p50, and the median of the per-repeat ratios native / LiteRT. Wall time on a
shared machine is noisy: the ratio, measured interleaved, is the figure to quote.

Noise-free evidence beside it: with valgrind on the PATH, the instructions one invoke of the native C
costs (callgrind's Ir for a small driver calling ``edgernn_model_invoke`` 10 times, divided by 10), for
the AVX2 and the portable build. And ``--check N`` compares the output bytes of both native builds with
TFLite Micro on N seeded random inputs (plus all -128, all 127 and all 0).
"""
from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

DEFAULT_MODELS = [ROOT / "models" / "kws-gru64" / "model_int8.tflite", ROOT / "models" / "kws-lstm64" / "model_int8.tflite"]
INVOKES = 10  # invokes per callgrind run

DRIVER = r"""
#include <stdint.h>
#include <stdio.h>
#include "model.h"
static int8_t in[%(n_in)d], out[%(n_out)d];
int main(void) {
    uint32_t s = 12345u;
    for (int i = 0; i < %(n_in)d; ++i) { s = s * 1664525u + 1013904223u; in[i] = (int8_t)(s >> 24); }
    int sum = 0;
    for (int k = 0; k < %(invokes)d; ++k) { edgernn_model_invoke(in, out); sum += out[0]; }
    printf("%%d\n", sum);
    return 0;
}
"""


def p50_ms(rt, x: np.ndarray, runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter_ns()
        rt.invoke_raw(x)
        times.append(time.perf_counter_ns() - t0)
    return statistics.median(times) / 1e6


def interleaved(runtimes: dict, x: np.ndarray, runs: int, repeats: int, warmup: int = 20) -> dict:
    """name -> list of per-repeat p50 (ms), the runtimes taking turns within each repeat."""
    for rt in runtimes.values():
        for _ in range(warmup):
            rt.invoke_raw(x)
    names, out = list(runtimes), {n: [] for n in runtimes}
    for r in range(repeats):
        for n in names[r % len(names):] + names[:r % len(names)]:
            out[n].append(p50_ms(runtimes[n], x, runs))
    return out


def bit_exact(model: Path, natives: dict, n: int) -> dict:
    """name -> "same/total" output arrays equal to TFLite Micro's."""
    from edgernn.runtimes.tflm import TFLMRuntime

    ref = TFLMRuntime(model)
    shape = ref.input_info().shape
    rng = np.random.default_rng(0)
    inputs = [rng.integers(-128, 128, size=shape).astype(np.int8) for _ in range(n)]
    inputs += [np.full(shape, v, np.int8) for v in (-128, 127, 0)]
    expected = [ref.invoke_raw(x) for x in inputs]
    return {name: f"{sum(np.array_equal(rt.invoke_raw(x), e) for x, e in zip(inputs, expected))}/{len(inputs)}"
            for name, rt in natives.items()}


def callgrind_instructions(model: Path, cflags: list[str], n_in: int, n_out: int) -> int | None:
    """Instructions per invoke of the generated C built with these flags (callgrind Ir / INVOKES)."""
    valgrind, cc = shutil.which("valgrind"), shutil.which("gcc") or shutil.which("cc")
    if valgrind is None or cc is None:
        return None
    from edgernn.export.codegen import generate_c

    with tempfile.TemporaryDirectory(prefix="edgernn-bench-native-") as tmp:
        src = Path(generate_c(model, Path(tmp) / "c"))
        (src.parent / "main.c").write_text(DRIVER % {"n_in": n_in, "n_out": n_out, "invokes": INVOKES})
        exe = Path(tmp) / "drv"
        subprocess.run([cc, "-std=c99", *cflags, "-o", str(exe), *(str(src.parent / f) for f in
                        ("main.c", "model.c", "edgernn_rt.c"))], check=True, capture_output=True)
        # an empty program with the same flags: its count (start-up, libc) is subtracted
        subprocess.run([cc, "-std=c99", *cflags, "-o", str(exe) + "0", "-x", "c", "-"],
                       input="int main(void){return 0;}\n", text=True, capture_output=True, check=True)

        def ir(binary: str) -> int:
            proc = subprocess.run([valgrind, "--tool=callgrind", f"--callgrind-out-file={tmp}/cg.out", binary],
                                  capture_output=True, text=True, check=True)
            m = re.search(r"Collected\s*:\s*(\d+)", proc.stderr)
            return int(m.group(1))

        return (ir(str(exe)) - ir(str(exe) + "0")) // INVOKES


def main(argv=None) -> int:
    from edgernn.runtimes.litert import LiteRTRuntime
    from edgernn.runtimes.native import NativeRuntime, host_has_avx2, native_cflags

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="*", type=Path, default=DEFAULT_MODELS)
    ap.add_argument("--runs", type=int, default=200, help="timed invokes per runtime per repeat")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--check", type=int, default=16, help="random inputs for the bit-exactness check (0: skip)")
    ap.add_argument("--no-callgrind", action="store_true", help="skip the instruction counts")
    ap.add_argument("--json", type=Path, default=None, help="write a results record (docs/results/data/...)")
    a = ap.parse_args(argv)
    if a.runs < 1 or a.repeats < 1 or a.check < 0:
        ap.error("--runs and --repeats must be >= 1, --check >= 0")

    simd = host_has_avx2()
    rows = []
    for model in a.models:
        natives = {"native": NativeRuntime(model)}
        if simd:
            natives["native portable"] = NativeRuntime(model, simd=False)
        lite = LiteRTRuntime(model, threads=1)
        info = lite.input_info()
        x = np.random.default_rng(1).integers(-128, 128, size=info.shape).astype(info.dtype)
        t = interleaved({**natives, "litert": lite}, x, a.runs, a.repeats)
        ratio = statistics.median(n / l for n, l in zip(t["native"], t["litert"]))
        exact = bit_exact(model, natives, a.check) if a.check else {}
        n_in, n_out = int(np.prod(info.shape)), int(np.prod(lite.output_info().shape))
        ins = {} if a.no_callgrind else {
            "native": callgrind_instructions(model, native_cflags(True), n_in, n_out),
            "native portable": callgrind_instructions(model, native_cflags(False), n_in, n_out)}
        name = model.parent.name if model.name == "model_int8.tflite" else model.stem
        row = [name, " ".join(native_cflags(True)),
               round(statistics.median(t["native"]), 4),
               round(statistics.median(t["native portable"]), 4) if simd else "n/a",
               round(statistics.median(t["litert"]), 4), round(ratio, 3),
               ins.get("native") or "n/a", ins.get("native portable") or "n/a",
               exact.get("native", "n/a"), exact.get("native portable", "n/a")]
        rows.append(row)
        print(f"{name}: p50 native {row[2]} ms, portable {row[3]}, LiteRT {row[4]} ms, native/LiteRT {row[5]}x; "
              f"instructions/invoke native {row[6]}, portable {row[7]}; bit-exact vs TFLM {row[8]}, {row[9]}",
              flush=True)
    columns = ["model", "native flags", "native p50 ms", "portable p50 ms", "LiteRT p50 ms",
               "native / LiteRT (median of repeats)", "native instr/invoke", "portable instr/invoke",
               "native = TFLM", "portable = TFLM"]
    if a.json:
        from results_record import write_record

        write_record(a.json, title="Host native C engine vs LiteRT (AVX2 and portable kernels)",
                     tool="tools/bench_host_native.py",
                     command="python tools/bench_host_native.py " + " ".join(sys.argv[1:] if argv is None else argv),
                     describes=["firmware/runtime", "edgernn/runtimes/native.py", "edgernn/export/codegen"],
                     tables=[{"title": f"p50 per invoke, batch 1, 1 thread, interleaved: {a.repeats} repeats x "
                                       f"{a.runs} invokes; instructions by callgrind", "columns": columns,
                              "rows": rows}],
                     headline=[{"what": f"host native C / LiteRT p50, {r[0]}", "value": f"{r[5]}x"} for r in rows],
                     summary="Wall times on a shared 2-core machine are noisy; the ratio is measured interleaved "
                             "in one process. The instruction counts (valgrind callgrind) do not depend on load.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
