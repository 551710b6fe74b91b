"""A small builder for TFLite flatbuffers (schema object API shipped with TensorFlow).

Used where the TFLite converter cannot produce what we need (a compact int8 GRU): we write
the graph tensor by tensor, so every tensor's quantization is ours and nothing is duplicated.
"""
from __future__ import annotations

import numpy as np

from edgernn.tflite.schema import schema
from edgernn.tflite.types import code_of


class Subgraph:
    def __init__(self, model: "ModelBuilder", name: str):
        s = schema()
        self.model, self.s = model, s
        self.g = s.SubGraphT()
        self.g.name = name
        self.g.tensors, self.g.operators, self.g.inputs, self.g.outputs = [], [], [], []

    def tensor(self, name: str, shape, dtype: str, scale=None, zero_point=0,
               data: np.ndarray | None = None, axis: int = 0) -> int:
        """A tensor; ``scale`` one float (per-tensor) or a list (per-channel along ``axis``, zero points 0)."""
        t = self.s.TensorT()
        t.name = name
        t.shape = [int(d) for d in shape]
        t.type = code_of(dtype)
        t.buffer = self.model.buffer(data)
        if scale is not None:
            q = self.s.QuantizationParametersT()
            scales = [float(v) for v in np.atleast_1d(scale)]
            q.scale = scales
            q.zeroPoint = [int(v) for v in np.broadcast_to(np.atleast_1d(zero_point), len(scales))]
            q.quantizedDimension = int(axis)
            t.quantization = q
        self.g.tensors.append(t)
        return len(self.g.tensors) - 1

    def const(self, name: str, value, dtype: str, scale=None, zero_point=0, axis: int = 0) -> int:
        arr = np.asarray(value, dtype=dtype)
        return self.tensor(name, arr.shape, dtype, scale, zero_point, data=arr, axis=axis)

    def op(self, name: str, inputs, outputs, options=None, options_type: str | None = None) -> None:
        s = self.s
        o = s.OperatorT()
        o.opcodeIndex = self.model.opcode(getattr(s.BuiltinOperator, name))
        o.inputs, o.outputs = list(inputs), list(outputs)
        if options is not None:
            o.builtinOptionsType = getattr(s.BuiltinOptions, options_type)
            o.builtinOptions = options
        self.g.operators.append(o)

    def options(self, kind: str, **fields):
        opt = getattr(self.s, f"{kind}T")()
        for k, v in fields.items():
            setattr(opt, k, v)
        return opt


class ModelBuilder:
    def __init__(self, description: str):
        s = schema()
        self.s = s
        self.m = s.ModelT()
        self.m.version = 3
        self.m.description = description
        empty = s.BufferT()
        empty.data = []
        self.m.buffers = [empty]  # buffer 0: the conventional empty buffer
        self.m.operatorCodes, self.m.subgraphs = [], []

    def buffer(self, data: np.ndarray | None) -> int:
        if data is None:
            return 0
        b = self.s.BufferT()
        b.data = np.frombuffer(np.ascontiguousarray(data).tobytes(), dtype=np.uint8)
        self.m.buffers.append(b)
        return len(self.m.buffers) - 1

    def opcode(self, builtin: int) -> int:
        for i, oc in enumerate(self.m.operatorCodes):
            if oc.builtinCode == builtin:
                return i
        oc = self.s.OperatorCodeT()
        oc.builtinCode = builtin
        oc.deprecatedBuiltinCode = min(builtin, 127)
        oc.version = 1
        self.m.operatorCodes.append(oc)
        return len(self.m.operatorCodes) - 1

    def subgraph(self, name: str) -> Subgraph:
        sg = Subgraph(self, name)
        self.m.subgraphs.append(sg.g)
        return sg

    def to_bytes(self) -> bytes:
        from tensorflow.lite.tools import flatbuffer_utils

        return bytes(flatbuffer_utils.convert_object_to_bytearray(self.m))
