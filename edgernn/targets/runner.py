"""The benchmark runner: one artifact on one runtime, timed; prints one JSON object.

Self-contained on purpose (standard library + numpy + the runtime's own package): the CPU
target runs it in a fresh child process, the Raspberry Pi target copies this very file to the
board and runs it there, so every target measures the same way.

    python runner.py SPEC.json
SPEC: {"artifact", "runtime": litert|onnxrt|keras|tflm, "threads", "warmup", "runs",
       "inputs": path of a .npy [N, T, F] float32 to run for accuracy (or null), "outputs": path for the .npy}
"""
from __future__ import annotations

import json
import os
import platform
import resource
import sys
import time

import numpy as np

INSTALL_HINT = {
    "litert": "pip install ai-edge-litert   (or: pip install tflite-runtime on older Python)",
    "onnxrt": "pip install onnxruntime",
    "keras": "pip install tensorflow tf-keras",
    "tflm": "pip install tflite-micro",
    "native": "pip install edgernn (and a C compiler)",
}


def peak_rss_bytes() -> int:
    """Peak resident set of this process image (VmHWM).

    Not ru_maxrss: Linux carries ru_maxrss across execve, so a child started from a big parent
    would report the parent's peak. VmHWM belongs to the new address space.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def cpu_model() -> str:
    """x86: "model name"; Raspberry Pi: "Model" (the board) or "Hardware"; else the platform."""
    fields = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if ":" in line:
                    key, value = line.split(":", 1)
                    fields.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    for key in ("model name", "Model", "Hardware"):
        if fields.get(key):
            return fields[key]
    return platform.processor() or platform.machine()


def latency_stats(samples_ns) -> dict:
    """p50/p90/p99/min/max/mean in milliseconds (percentiles by linear interpolation)."""
    ms = np.asarray(samples_ns, dtype=np.float64) / 1e6
    p50, p90, p99 = np.percentile(ms, [50, 90, 99])
    return {"p50": float(p50), "p90": float(p90), "p99": float(p99), "min": float(ms.min()),
            "max": float(ms.max()), "mean": float(ms.mean())}


class _TFLite:
    """ai-edge-litert, or the older tflite-runtime, whichever the machine has."""

    def __init__(self, path, threads):
        try:
            from ai_edge_litert.interpreter import Interpreter
            import ai_edge_litert as pkg
        except ImportError:
            from tflite_runtime.interpreter import Interpreter
            import tflite_runtime as pkg
        self.version = f"{pkg.__name__} {getattr(pkg, '__version__', '?')}"
        self.ip = Interpreter(model_path=path, num_threads=threads)
        self.ip.allocate_tensors()
        self.i, self.o = self.ip.get_input_details()[0], self.ip.get_output_details()[0]

    def raw_input(self, x):
        return _quantize(x, self.i["dtype"], *self.i["quantization"])

    def invoke(self, q):
        self.ip.reset_all_variables()  # independent sequences (fused LSTM keeps state otherwise)
        self.ip.set_tensor(self.i["index"], q)
        self.ip.invoke()
        return self.ip.get_tensor(self.o["index"])

    def to_float(self, y):
        return _dequantize(y, *self.o["quantization"])


class _Onnx:
    def __init__(self, path, threads):
        import onnxruntime as ort

        self.version = f"onnxruntime {ort.__version__}"
        opts = ort.SessionOptions()
        opts.intra_op_num_threads, opts.inter_op_num_threads = threads, 1
        self.s = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
        self.name, self.out = self.s.get_inputs()[0].name, self.s.get_outputs()[0].name

    def raw_input(self, x):
        return np.asarray(x, dtype=np.float32)

    def invoke(self, q):
        return self.s.run([self.out], {self.name: q})[0]

    def to_float(self, y):
        return np.asarray(y, dtype=np.float32)


class _Edgernn:
    """Keras, TFLite Micro and the generated C engine through edgernn's runtimes (host only)."""

    def __init__(self, path, threads, name):
        from edgernn.runtimes import open_runtime

        if name == "native":  # generate and compile in another process: keep TensorFlow out of this one's RSS
            import subprocess

            from edgernn.procs import python_argv  # host only: the Pi runs this file without edgernn

            subprocess.run(python_argv("-c", "import sys; from pathlib import Path; from edgernn.runtimes.native "
                                       "import build_shared_library; build_shared_library(Path(sys.argv[1]))", path),
                           check=True)

        self.rt = open_runtime(path, name)
        import importlib.metadata as md

        pkg = {"keras": "tf-keras", "tflm": "tflite-micro", "native": "edgernn"}[name]
        self.version = f"{pkg} {md.version(pkg)}"
        self.info_in, self.info_out = self.rt.input_info(), self.rt.output_info()

    def raw_input(self, x):
        if self.info_in.dtype == "float32":
            return np.asarray(x, dtype=np.float32)
        return _quantize(x, self.info_in.dtype, self.info_in.scale, self.info_in.zero_point)

    def invoke(self, q):
        return self.rt.invoke_raw(q)

    def to_float(self, y):
        if self.info_out.dtype == "float32":
            return np.asarray(y, dtype=np.float32)
        return _dequantize(y, self.info_out.scale, self.info_out.zero_point)


def _quantize(x, dtype, scale, zero_point):
    dtype = np.dtype(dtype)
    if dtype == np.float32 or not scale:
        return np.asarray(x, dtype=dtype)
    v = np.asarray(x, dtype=np.float32) / np.float32(scale)
    q = np.sign(v) * np.floor(np.abs(v) + 0.5) + zero_point
    return np.clip(q, np.iinfo(dtype).min, np.iinfo(dtype).max).astype(dtype)


def _dequantize(y, scale, zero_point):
    if not scale or y.dtype == np.float32:
        return np.asarray(y, dtype=np.float32)
    return ((y.astype(np.float32) - zero_point) * scale).astype(np.float32)


def open_runtime(runtime: str, path: str, threads: int):
    if runtime == "litert":
        return _TFLite(path, threads)
    if runtime == "onnxrt":
        return _Onnx(path, threads)
    if runtime in ("keras", "tflm", "native"):
        return _Edgernn(path, threads, runtime)
    raise ValueError(f"unknown runtime {runtime}")


def run(spec: dict) -> dict:
    result = {"runtime": spec["runtime"], "host": platform.node(), "cpu_model": cpu_model(),
              "machine": platform.machine(), "python": platform.python_version(), "threads": spec["threads"]}
    rss_start = peak_rss_bytes()
    try:
        rt = open_runtime(spec["runtime"], spec["artifact"], spec["threads"])
    except ImportError as e:
        result.update(error=f"runtime not installed ({e})", install=INSTALL_HINT[spec["runtime"]])
        return result
    result["runtime_version"] = rt.version
    rss_loaded = peak_rss_bytes()
    shape = None
    if spec.get("inputs"):
        X = np.load(spec["inputs"]).astype(np.float32)
        outs = [rt.to_float(rt.invoke(rt.raw_input(X[i:i + 1]))) for i in range(len(X))]
        np.save(spec["outputs"], np.concatenate(outs, axis=0))
        x = X[:1]
    else:
        shape = spec["input_shape"]
        x = np.random.default_rng(0).normal(size=shape).astype(np.float32)
    q = rt.raw_input(x)
    for _ in range(spec["warmup"]):
        rt.invoke(q)
    samples = []
    for _ in range(spec["runs"]):
        t0 = time.perf_counter_ns()
        rt.invoke(q)
        samples.append(time.perf_counter_ns() - t0)
    result.update(latency_ms=latency_stats(samples), runs=spec["runs"], warmup=spec["warmup"],
                  peak_rss_bytes=peak_rss_bytes(), rss_before_runtime_bytes=rss_start,
                  rss_model_loaded_bytes=rss_loaded)
    return result


def _die_with_parent() -> None:
    """Linux: SIGKILL this runner when the process that started it dies (no orphaned benchmarks).
    Ctrl-C is left to that process, which stops the runner itself (as edgernn.procs.die_with_parent)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL(None).prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    parent = os.environ.get("EDGERNN_PARENT_PID", "")
    if parent.isdigit() and os.getppid() != int(parent):
        os._exit(1)


if __name__ == "__main__":
    _die_with_parent()
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    try:
        out = run(spec)
    except Exception as e:  # reported to the host as a result, never a traceback there
        out = {"runtime": spec.get("runtime"), "error": f"{type(e).__name__}: {e}"}
    sys.stdout.write("EDGERNN-RESULT " + json.dumps(out) + "\n")
    sys.stdout.flush()
    os._exit(0)  # skip slow interpreter teardown of TensorFlow
