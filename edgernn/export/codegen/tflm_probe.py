"""Run one TFLite Micro element-wise op on every value of its input type: exact tables by construction."""
from __future__ import annotations

import numpy as np

from edgernn.errors import UserError

_RANGES = {"int8": (-128, 128), "int16": (-32768, 32768)}


def op_on_every_input(op: str, dtype: str, in_q: tuple[float, int], out_q: tuple[float, int]) -> np.ndarray:
    """TFLite Micro's ``op`` (LOGISTIC, TANH) on all ``dtype`` inputs in increasing order, as int64."""
    from edgernn.tflite.builder import ModelBuilder
    from edgernn.tflite.micro import make_interpreter

    lo, hi = _RANGES[dtype]
    mb = ModelBuilder(f"{op} {dtype} probe")
    g = mb.subgraph("main")
    x = g.tensor("x", [hi - lo], dtype, *in_q)
    y = g.tensor("y", [hi - lo], dtype, *out_q)
    g.op(op, [x], [y])
    g.g.inputs, g.g.outputs = [x], [y]
    try:
        ip = make_interpreter(mb.to_bytes(), 16 * 1024 + 8 * (hi - lo))
        ip.set_input(np.arange(lo, hi, dtype=dtype), 0)
        ip.invoke()
    except (RuntimeError, ValueError) as e:
        raise UserError(f"TFLite Micro refuses {op} with input {in_q} and output {out_q} quantization "
                        f"({str(e).splitlines()[0][:120] if str(e) else type(e).__name__})") from None
    return np.array(ip.get_output(0), dtype=np.int64)
