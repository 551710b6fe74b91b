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

from edgernn import defaults as D
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


# Builtin ops the installed TFLite Micro registers (tflite-micro 0.dev20261023182759, its
# all-ops resolver); an op outside this set makes the interpreter fail with only a generic
# "failed to allocate tensors", so check names it instead.
TFLM_OPS = frozenset("""
ABS ADD ADD_N ARG_MAX ARG_MIN ASSIGN_VARIABLE AVERAGE_POOL_2D BATCH_MATMUL BATCH_TO_SPACE_ND BROADCAST_ARGS
BROADCAST_TO CALL_ONCE CAST CEIL CIRCULAR_BUFFER CONCATENATION CONV_2D COS CUMSUM DELAY DEPTHWISE_CONV_2D
DEPTH_TO_SPACE DEQUANTIZE DETECTION_POSTPROCESS DIV DYNAMIC_UPDATE_SLICE ELU EMBEDDING_LOOKUP EQUAL ETHOSU EXP
EXPAND_DIMS FILL FLOOR FLOOR_DIV FLOOR_MOD FULLY_CONNECTED GATHER GATHER_ND GREATER GREATER_EQUAL HARD_SWISH IF
L2_NORMALIZATION L2_POOL_2D LEAKY_RELU LESS LESS_EQUAL LOG LOGICAL_AND LOGICAL_NOT LOGICAL_OR LOGISTIC
LOG_SOFTMAX MAXIMUM MAX_POOL_2D MEAN MINIMUM MIRROR_PAD MUL NEG NOT_EQUAL PACK PAD PADV2 PRELU QUANTIZE
READ_VARIABLE REDUCE_ALL REDUCE_MAX REDUCE_MIN RELU RELU6 RESHAPE RESIZE_BILINEAR RESIZE_NEAREST_NEIGHBOR
REVERSE_V2 ROUND RSQRT SELECT_V2 SHAPE SIN SLICE SOFTMAX SPACE_TO_BATCH_ND SPACE_TO_DEPTH SPLIT SPLIT_V SQRT
SQUARE SQUARED_DIFFERENCE SQUEEZE STRIDED_SLICE SUB SUM SVDF TANH TRANSPOSE TRANSPOSE_CONV
UNIDIRECTIONAL_SEQUENCE_LSTM UNPACK VAR_HANDLE WHILE ZEROS_LIKE
""".split())


def ops_tflm_lacks(ops) -> list[str]:
    return sorted({str(op) for op in ops} - TFLM_OPS)


def explain(info: dict, reason: str) -> str:
    lacking = ops_tflm_lacks(info.get("ops", []))
    if lacking:
        return (f"TFLite Micro has no kernel for op(s) {', '.join(lacking)}"
                + (" (TILE comes from RepeatVector: `edgernn quantize RUN --mode int8` writes it as BROADCAST_TO, "
                   "which TFLite Micro runs, or use a GRU autoencoder, whose int8 graph feeds the decoder "
                   "without TILE)" if "TILE" in lacking else ""))
    if info["kind"] == "hybrid":
        return ("hybrid (dynamic-range) model: float activations with int8 weights. TFLite Micro has no hybrid "
                "kernels; use `edgernn quantize RUN --mode int8` for a full-integer model")
    if info["kind"] == "float16":
        return "float16 weights need DEQUANTIZE at run time and float kernels; use --mode int8 for microcontrollers"
    if "unsupported" in reason.lower() or "didn't find op" in reason.lower() or "not registered" in reason.lower():
        return f"an op is not in TFLite Micro's resolver: {reason}"
    return reason


def check(model_path: str | Path, target: str = D.CHECK_TARGET) -> dict:
    if target not in TARGETS:
        raise UserError(f"unknown target {target!r} (choose from {', '.join(TARGETS)})")
    from edgernn.io import check_regular_file

    check_regular_file(model_path, "TFLite model")  # a FIFO or folder is refused, never read
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
