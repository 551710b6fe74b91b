"""Open a .tflite in a child process before opening it in this one.

LiteRT and TFLite Micro crash (SIGSEGV, SIGABRT, nothing printed) on some damaged or crafted
models. So every model a runtime opens in-process is first opened, allocated and invoked once on
zeros in a child; a crash there becomes one clean error line here. The child also reports the
input and output details, so callers that only need shapes never open the model in-process.

    python -m edgernn.runtimes.probe litert|tflm MODEL.tflite [ARENA]
"""
from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from edgernn.errors import UserError

TFLITE_IDENTIFIER = b"TFL3"
PROBE_TIMEOUT = 120.0
RESULT_PREFIX = "EDGERNN-PROBE "
_probed: dict[tuple[str, str, int], dict] = {}
NAMES = {"litert": "LiteRT", "tflm": "TFLite Micro"}


def check_tflite_bytes(path: Path, data: bytes) -> None:
    """Cheap checks before any runtime sees the bytes: a flatbuffer with the TFLite identifier."""
    if len(data) < 16 or data[4:8] != TFLITE_IDENTIFIER:
        raise UserError(f"{path}: not a TFLite model (no TFL3 identifier; truncated or another format)")
    root = int.from_bytes(data[:4], "little")
    if not 8 <= root < len(data):
        raise UserError(f"{path}: not a valid TFLite model (root table offset {root} is outside the file)")


def probe_tflite(path: str | Path, runtime: str, data: bytes, arena_size: int = 0) -> dict:
    """Open ``data`` (the bytes of ``path``) on ``runtime`` in a child; returns its tensor details.

    A crash, hang or load error of the runtime becomes a UserError naming the file."""
    path = Path(path)
    check_tflite_bytes(path, data)
    key = (hashlib.sha256(data).hexdigest(), runtime, arena_size)
    if key in _probed:
        return _probed[key]
    from edgernn.procs import python_argv, run_child

    with tempfile.TemporaryDirectory(prefix="edgernn-probe-") as tmp:
        copy = Path(tmp) / "model.tflite"
        copy.write_bytes(data)
        try:
            proc = run_child(python_argv("-m", "edgernn.runtimes.probe", runtime, copy, arena_size),
                             timeout=PROBE_TIMEOUT, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise UserError(f"{path}: {NAMES[runtime]} did not finish opening it within {PROBE_TIMEOUT:.0f} s") from None
    if proc.returncode < 0:
        sig = signal.Signals(-proc.returncode).name
        raise UserError(f"{path}: {NAMES[runtime]} crashed ({sig}) opening it; the file is damaged or "
                        "not a model edgernn made")
    for line in proc.stdout.splitlines():
        if line.startswith(RESULT_PREFIX):
            result = json.loads(line[len(RESULT_PREFIX):])
            break
    else:
        tail = (proc.stderr.strip().splitlines() or [f"exit status {proc.returncode}"])[-1]
        raise UserError(f"{path}: {NAMES[runtime]} failed opening it ({tail[:200]})")
    if not result["ok"]:
        raise UserError(f"{path}: {NAMES[runtime]} cannot load it ({result['error'][:200]})")
    _probed[key] = result
    return result


def _details(d: dict) -> dict:
    import numpy as np

    q = d.get("quantization_parameters") or {}
    scales, zps = list(q.get("scales", [])), list(q.get("zero_points", []))
    if not scales and d.get("quantization"):
        scales, zps = [d["quantization"][0]], [d["quantization"][1]]
    return {"shape": [int(v) for v in d["shape"]], "dtype": np.dtype(d["dtype"]).name,
            "scale": float(scales[0]) if scales else 0.0, "zero_point": int(zps[0]) if zps else 0}


def _open_and_invoke(runtime: str, data: bytes, arena_size: int) -> dict:
    import numpy as np

    if runtime == "litert":
        from ai_edge_litert.interpreter import Interpreter

        ip = Interpreter(model_content=data, num_threads=1)
        ip.allocate_tensors()
        i, o = ip.get_input_details(), ip.get_output_details()
        if not i or not o:
            raise ValueError("the model has no input or no output")
        ip.set_tensor(i[0]["index"], np.zeros(i[0]["shape"], dtype=i[0]["dtype"]))
        ip.invoke()
        return {"input": _details(i[0]), "output": _details(o[0])}
    from tflite_micro.python.tflite_micro import runtime as tflm

    ip = tflm.Interpreter.from_bytes(data, arena_size=arena_size or 256 * 1024)
    i, o = ip.get_input_details(0), ip.get_output_details(0)
    ip.set_input(np.zeros(i["shape"], dtype=i["dtype"]), 0)
    ip.invoke()
    return {"input": _details(i), "output": _details(o)}


def main(argv: list[str]) -> None:
    from edgernn.procs import die_with_parent

    die_with_parent()
    import faulthandler
    import os

    faulthandler.disable()  # a crash here is the answer, reported by the parent
    runtime, model, arena = argv[0], argv[1], int(argv[2]) if len(argv) > 2 else 0
    with open(model, "rb") as f:
        data = f.read()
    try:
        out = {"ok": True, **_open_and_invoke(runtime, data, arena)}
    except Exception as e:  # noqa: BLE001  (the runtimes raise many types; all mean "cannot load")
        out = {"ok": False, "error": (str(e).strip().splitlines() or [type(e).__name__])[0]}
    sys.stdout.write(RESULT_PREFIX + json.dumps(out) + "\n")
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv[1:])
