"""Read a .tflite flatbuffer into schema objects and check its structure before anyone trusts it.

A model file is untrusted input: every index (buffer, opcode, tensor, subgraph), every shape and
every constant's byte count is checked here, so later stages (the C generator, the MCU MAC count,
``describe``) can index without a bounds check of their own. ``Graph`` adds named access: tensor
types from ``types.py``, operand positions from ``operands.py``, constants as NumPy arrays.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from edgernn.errors import UserError
from edgernn.tflite.operands import Operands
from edgernn.tflite.schema import op_name, schema
from edgernn.tflite.types import INT8, INT16, TYPES, type_name

MAX_FILE_BYTES = 256 << 20
MAX_ELEMENTS = 1 << 24         # per tensor: far above any microcontroller model, far below a crash
MAX_DIM = 1 << 24
MAX_SUBGRAPHS = 256
_SUBGRAPH_FIELDS = ("condSubgraphIndex", "bodySubgraphIndex", "thenSubgraphIndex", "elseSubgraphIndex")


def read_model(path: str | Path):
    """The flatbuffer as schema objects, structurally checked, or UserError for anything else."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise UserError(f"{path}: {path.stat().st_size} bytes is too large for a TFLite model here "
                        f"(limit {MAX_FILE_BYTES >> 20} MB)")
    data = path.read_bytes()
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise UserError(f"{path}: not a TFLite model (no TFL3 identifier)")
    s = schema()
    try:
        m = s.ModelT.InitFromObj(s.Model.GetRootAsModel(data, 0))
    except Exception as e:  # the flatbuffer library raises anything on corrupt offsets
        raise UserError(f"{path}: corrupt TFLite model ({type(e).__name__}: {str(e)[:100]})") from None
    check_structure(m, path)
    return m


def numel(shape) -> int:
    return int(np.prod([int(d) for d in shape], dtype=np.int64)) if len(shape) else 1


def _fail(path, where: str, problem: str):
    raise UserError(f"{path}: invalid TFLite model: {where}: {problem}")


def _ints(values) -> list[int]:
    return [] if values is None else [int(v) for v in values]


def normalize(m) -> None:
    """Absent vectors become empty lists and index vectors plain ints, so no reader needs a None check."""
    m.subgraphs, m.buffers, m.operatorCodes = m.subgraphs or [], m.buffers or [], m.operatorCodes or []
    for g in m.subgraphs:
        g.tensors, g.operators = g.tensors or [], g.operators or []
        g.inputs, g.outputs = _ints(g.inputs), _ints(g.outputs)
        for op in g.operators:
            op.inputs, op.outputs = _ints(op.inputs), _ints(op.outputs)
        for t in g.tensors:
            t.shape = _ints(t.shape)


def check_structure(m, path) -> None:
    """Every index in range, every shape sane, every constant exactly as big as its shape says."""
    normalize(m)
    subgraphs, buffers, codes = m.subgraphs or [], m.buffers or [], m.operatorCodes or []
    if not subgraphs:
        _fail(path, "model", "no subgraphs")
    if len(subgraphs) > MAX_SUBGRAPHS:
        _fail(path, "model", f"{len(subgraphs)} subgraphs (limit {MAX_SUBGRAPHS})")
    if not subgraphs[0].inputs or not subgraphs[0].outputs:
        _fail(path, "main subgraph", "no inputs or no outputs")
    for sg, g in enumerate(subgraphs):
        tensors = g.tensors or []
        for ti, t in enumerate(tensors):
            _check_tensor(t, buffers, path, f"subgraph {sg} tensor {ti}")
        n = len(tensors)
        for kind, ids in (("input", g.inputs), ("output", g.outputs)):
            for i in ids if ids is not None else []:
                if not 0 <= int(i) < n:
                    _fail(path, f"subgraph {sg}", f"{kind} tensor index {int(i)} out of range (0..{n - 1})")
        for k, op in enumerate(g.operators or []):
            where = f"subgraph {sg} op {k}"
            if not 0 <= op.opcodeIndex < len(codes):
                _fail(path, where, f"opcode index {op.opcodeIndex} out of range")
            for i in op.inputs if op.inputs is not None else []:
                if not -1 <= int(i) < n:
                    _fail(path, where, f"input tensor index {int(i)} out of range")
            outs = [int(i) for i in (op.outputs if op.outputs is not None else [])]
            for i in outs:
                if not 0 <= i < n:
                    _fail(path, where, f"output tensor index {i} out of range")
            for field in _SUBGRAPH_FIELDS:
                ref = getattr(op.builtinOptions, field, None)
                if ref is not None and not 0 < ref < len(subgraphs):
                    _fail(path, where, f"{field} {ref} is not a subgraph other than the main one")
    _check_no_recursion(m, path)


def _check_tensor(t, buffers, path, where) -> None:
    shape = [int(d) for d in (t.shape if t.shape is not None else [])]
    if any(d < 0 or d > MAX_DIM for d in shape):
        _fail(path, where, f"shape {shape} has a negative or huge dimension")
    if numel(shape) > MAX_ELEMENTS:
        _fail(path, where, f"shape {shape} has more than {MAX_ELEMENTS} elements")
    if not 0 <= t.buffer < len(buffers):
        _fail(path, where, f"buffer index {t.buffer} out of range (0..{len(buffers) - 1})")
    data = buffers[t.buffer].data
    if data is not None and len(data) and t.type in TYPES:
        expected = numel(shape) * TYPES[t.type].size
        if len(data) != expected:
            _fail(path, where, f"constant has {len(data)} bytes, its shape {shape} x {type_name(t.type)} needs {expected}")
    q = t.quantization
    if q is not None and q.scale is not None and len(q.scale):
        scales = [float(v) for v in q.scale]
        if not all(math.isfinite(v) for v in scales):
            _fail(path, where, "non-finite quantization scale")
        zps = [int(v) for v in q.zeroPoint] if q.zeroPoint is not None else []
        if len(zps) not in (0, len(scales)):
            _fail(path, where, f"{len(scales)} scales but {len(zps)} zero points")
        if len(scales) > 1 and not (0 <= q.quantizedDimension < len(shape) and shape[q.quantizedDimension] == len(scales)):
            _fail(path, where, f"{len(scales)} per-channel scales do not match shape {shape} "
                               f"on axis {q.quantizedDimension}")
        bits = {INT8: 8, INT16: 16}.get(t.type)
        if bits and any(not -(1 << bits - 1) <= z < 1 << bits - 1 for z in zps):
            _fail(path, where, f"zero point out of the {type_name(t.type)} range")


def _check_no_recursion(m, path) -> None:
    """Control-flow ops may call other subgraphs, but never (indirectly) themselves."""
    calls = {sg: {getattr(op.builtinOptions, f) for op in g.operators or [] for f in _SUBGRAPH_FIELDS
                  if getattr(op.builtinOptions, f, None) is not None} for sg, g in enumerate(m.subgraphs)}
    state: dict[int, int] = {}  # 1: on the current path, 2: done

    def visit(sg: int) -> None:
        state[sg] = 1
        for callee in calls[sg]:
            if state.get(callee) == 1:
                _fail(path, f"subgraph {sg}", f"calls subgraph {callee} recursively")
            if callee not in state:
                visit(callee)
        state[sg] = 2

    for sg in calls:
        if sg not in state:
            visit(sg)


class Graph:
    """A checked model with named access to its ops, tensors, constants and quantization."""

    def __init__(self, model_path: str | Path):
        self.path = Path(model_path)
        self.m = read_model(self.path)
        self.subgraphs = self.m.subgraphs

    # ops -------------------------------------------------------------------------------------
    def op_name(self, op) -> str:
        return op_name(self.m.operatorCodes[op.opcodeIndex])

    def operands(self, op) -> Operands:
        """The op's inputs by operand name (``operands.py``)."""
        return Operands(self.op_name(op), op.inputs if op.inputs is not None else [])

    def ops(self, sg: int) -> list:
        return self.m.subgraphs[sg].operators or []

    # tensors ---------------------------------------------------------------------------------
    def tensor(self, sg: int, i: int):
        return self.m.subgraphs[sg].tensors[i]

    def shape(self, sg: int, i: int) -> list[int]:
        t = self.tensor(sg, i)
        return [int(d) for d in (t.shape if t.shape is not None else [])]

    def type(self, sg: int, i: int) -> int:
        return self.tensor(sg, i).type

    def numel(self, sg: int, i: int) -> int:
        return numel(self.shape(sg, i))

    def nbytes(self, sg: int, i: int) -> int:
        t = TYPES.get(self.type(sg, i))
        if t is None:
            raise UserError(f"{self.path}: tensor {self.name(sg, i)!r} has an unsupported type ({type_name(self.type(sg, i))})")
        return self.numel(sg, i) * t.size

    def name(self, sg: int, i: int) -> str:
        n = self.tensor(sg, i).name
        return n.decode(errors="replace") if isinstance(n, bytes) else str(n)

    def is_const(self, sg: int, i: int) -> bool:
        data = self.m.buffers[self.tensor(sg, i).buffer].data
        return data is not None and len(data) > 0

    def const(self, sg: int, i: int) -> np.ndarray | None:
        """The constant's values (shape and byte count already checked), or None for an activation."""
        if not self.is_const(sg, i):
            return None
        t = self.tensor(sg, i)
        if t.type not in TYPES:
            raise UserError(f"{self.path}: constant {self.name(sg, i)!r} has an unsupported type ({type_name(t.type)})")
        data = bytes(np.asarray(self.m.buffers[t.buffer].data, dtype=np.uint8))
        dtype = np.bool_ if TYPES[t.type].name == "bool" else np.dtype(TYPES[t.type].name)
        return np.frombuffer(data, dtype=dtype).reshape(self.shape(sg, i))

    def scales(self, sg: int, i: int) -> list[float]:
        """Every scale of a tensor: none, one, or one per channel."""
        q = self.tensor(sg, i).quantization
        return [] if q is None or q.scale is None else [float(v) for v in q.scale]

    def zero_points(self, sg: int, i: int) -> list[int]:
        q = self.tensor(sg, i).quantization
        return [] if q is None or q.zeroPoint is None else [int(v) for v in q.zeroPoint]

    def qparams(self, sg: int, i: int) -> tuple[float, int]:
        """(scale, zero point) of a per-tensor quantized tensor; int8/int16 ones must have a usable scale."""
        scales, zps = self.scales(sg, i), self.zero_points(sg, i)
        if len(scales) > 1:
            raise UserError("per-channel quantized tensors are supported only as FULLY_CONNECTED weights")
        if self.type(sg, i) in (INT8, INT16) and not (scales and 1e-30 < scales[0] < 1e30):
            raise UserError(f"{self.path}: int tensor {self.name(sg, i)!r} has no usable quantization scale")
        if not scales:
            return 0.0, 0
        return scales[0], zps[0] if zps else 0
