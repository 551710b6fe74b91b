"""``edgernn check MODEL.tflite --target tflm``: will this model run on a microcontroller?

Reports the op list, the model kind (int8 / float / hybrid), whether the TFLite Micro
interpreter (tflite-micro's host build: same kernels and memory planner as on the device)
loads and invokes it, and the smallest tensor arena that works, found by bisection: the
interpreter is built and invoked at each candidate size. Flash is the model's bytes (the
flatbuffer is stored as-is in flash), with the constant (weight) bytes broken out.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from edgernn.errors import UserError
from edgernn.tflite.info import describe

TARGETS = ("tflm",)
ARENA_MAX = 8 * 1024 * 1024
ARENA_STEP = 16  # TFLM aligns arena allocations to 16 bytes


def _runs_with(model: bytes, arena: int) -> tuple[bool, str]:
    """Build a TFLM interpreter with this arena and invoke it once, in a forked child.

    TFLite Micro can crash (SIGSEGV) instead of failing cleanly when the arena is too small
    for some models (the fused int8 LSTM), so each probe runs in its own process; a crash
    counts as "does not run" and its signal is reported.
    """
    import os
    import signal

    # Import TFLite Micro here, before fork: a first import inside a forked child of a process
    # that runs TensorFlow's threads crashes.
    from tflite_micro.python.tflite_micro import runtime  # noqa: F401

    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: probe, report, exit without running Python teardown
        import faulthandler

        faulthandler.disable()  # an expected TFLM crash here is a result, not a report for the log
        os.close(read_end)
        ok, reason = _probe(model, arena)
        os.write(write_end, reason.encode()[:1000])
        os._exit(0 if ok else 1)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as f:
        reason = f.read().decode(errors="replace")
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        return False, f"TFLite Micro crashed ({signal.Signals(os.WTERMSIG(status)).name})"
    return os.WEXITSTATUS(status) == 0, reason


def _probe(model: bytes, arena: int) -> tuple[bool, str]:
    from edgernn.tflite.micro import make_interpreter
    from edgernn.tf import _quiet_stderr

    try:
        with _quiet_stderr():
            ip = make_interpreter(model, arena)
            d = ip.get_input_details(0)
            ip.set_input(np.zeros(d["shape"], dtype=d["dtype"]), 0)
            ip.invoke()
        return True, ""
    except (RuntimeError, ValueError) as e:
        return False, str(e).strip().splitlines()[0][:300] if str(e).strip() else type(e).__name__


def smallest_arena(model: bytes, high: int = ARENA_MAX) -> tuple[int | None, str]:
    """Smallest arena (bytes, multiple of 16) with which TFLM runs the model; None if none does."""
    ok, reason = _runs_with(model, high)
    if not ok:
        return None, reason
    lo, hi = 0, high  # invariant: hi works, lo does not
    while hi - lo > ARENA_STEP:
        mid = (lo + hi) // 2 // ARENA_STEP * ARENA_STEP
        if mid <= lo:
            break
        if _runs_with(model, mid)[0]:
            hi = mid
        else:
            lo = mid
    return hi, ""


def explain(info: dict, reason: str) -> str:
    if info["kind"] == "hybrid":
        return ("hybrid (dynamic-range) model: float activations with int8 weights. TFLite Micro has no hybrid "
                "kernels; use `edgernn quantize RUN --mode int8` for a full-integer model")
    if info["kind"] == "float16":
        return "float16 weights need DEQUANTIZE at run time and float kernels; use --mode int8 for microcontrollers"
    if "unsupported" in reason.lower() or "didn't find op" in reason.lower() or "not registered" in reason.lower():
        return f"an op is not in TFLite Micro's resolver: {reason}"
    return reason


def check(model_path: str | Path, target: str = "tflm") -> dict:
    if target not in TARGETS:
        raise UserError(f"unknown target {target!r} (choose from {', '.join(TARGETS)})")
    info = describe(model_path)
    data = Path(model_path).read_bytes()
    arena, reason = smallest_arena(data)
    result = dict(info, target=target, runs=arena is not None)
    if arena is not None:
        result.update(arena_bytes=arena, arena_note=f"smallest working arena, measured by bisection to {ARENA_STEP} B",
                      flash_bytes=info["file_bytes"])
    else:
        result.update(reason=explain(info, reason))
    return result
