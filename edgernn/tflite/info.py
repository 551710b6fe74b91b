"""Read a .tflite file: operators, tensor types, weight bytes, and what kind of model it is."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

from edgernn.tflite.reader import read_model  # noqa: F401  (re-exported: the one reader)
from edgernn.tflite.schema import op_name
from edgernn.tflite.types import type_name


def describe(path: str | Path) -> dict:
    """Ops (with counts), tensor dtypes, weight bytes per dtype, and the model kind.

    kind: "int8" (full integer), "float32", "float16" (float16 weights), or "hybrid"
    (float activations with int8 weights: LiteRT's dynamic-range mode, which TFLite Micro rejects).
    """
    m = read_model(path)
    ops = Counter()
    for g in m.subgraphs:
        for o in g.operators or []:
            ops[op_name(m.operatorCodes[o.opcodeIndex])] += 1
    const_bytes: Counter = Counter()
    activation_types: Counter = Counter()
    for g in m.subgraphs:
        # Only tensors ops read or write: the fused LSTM's "intermediates" are float32 placeholders
        # that only carry quantization scales.
        used = {i for o in g.operators or [] for i in list(o.inputs) + list(o.outputs) if i >= 0}
        for ti, t in enumerate(g.tensors or []):
            if ti not in used:
                continue
            buf = m.buffers[t.buffer] if t.buffer < len(m.buffers) else None
            size = len(buf.data) if buf is not None and buf.data is not None else 0
            dtype = type_name(t.type)
            if size:
                const_bytes[dtype] += size
            else:
                activation_types[dtype] += 1
    main = m.subgraphs[0]
    io_types = [type_name(main.tensors[i].type) for i in list(main.inputs) + list(main.outputs)]
    if const_bytes.get("float16"):
        kind = "float16"
    elif activation_types.get("float32") and const_bytes.get("int8"):
        kind = "hybrid"
    elif activation_types.get("float32") or const_bytes.get("float32"):
        kind = "float32"
    else:
        kind = "int8"
    return {
        "path": str(path),
        "file_bytes": Path(path).stat().st_size,
        "ops": dict(sorted(ops.items())),
        "subgraphs": len(m.subgraphs),
        "kind": kind,
        "io_types": io_types,
        "weight_bytes": dict(const_bytes),
        "activation_tensor_types": dict(activation_types),
        "input_shape": [int(d) for d in main.tensors[main.inputs[0]].shape],
        "output_shape": [int(d) for d in main.tensors[main.outputs[0]].shape],
    }
