"""TILE -> BROADCAST_TO in a converted model, so an int8 LSTM autoencoder runs on TFLite Micro.

Why: Keras' RepeatVector (the autoencoder feeding its code vector to every decoder step) converts to
TILE, and TFLite Micro has no TILE kernel. RepeatVector tiles a [1, 1, U] tensor T times along an
axis of size 1, which is exactly BROADCAST_TO [1, T, U]: the same bytes, an op TFLite Micro (and
edgernn's C generator) runs. The model's weights, quantization and every other op stay as the
converter wrote them, so the int8 model computes what the converter's model computes.

Only TILEs that are broadcasts (every tiled axis has size 1) are rewritten; others are left
untouched for ``check`` to name.
"""
from __future__ import annotations

import numpy as np

from edgernn.tflite.schema import op_name, schema


def _const(model, sg, t: int) -> np.ndarray | None:
    tensor = sg.tensors[t]
    data = model.buffers[tensor.buffer].data if tensor.buffer < len(model.buffers) else None
    if data is None or len(data) == 0:
        return None
    dtype = {2: np.int32, 4: np.int64}.get(tensor.type)
    return None if dtype is None else np.frombuffer(bytes(bytearray(data)), dtype=dtype).reshape(-1)


def _is_broadcast(in_shape, multiples) -> bool:
    return (multiples is not None and len(in_shape) == len(multiples)
            and all(m == 1 or d == 1 for d, m in zip(in_shape, multiples)) and all(m >= 1 for m in multiples))


def _broadcast_opcode(model, s) -> int:
    code = s.BuiltinOperator.BROADCAST_TO
    for i, oc in enumerate(model.operatorCodes):
        if max(oc.builtinCode, oc.deprecatedBuiltinCode) == code:
            return i
    oc = s.OperatorCodeT()
    oc.builtinCode, oc.deprecatedBuiltinCode, oc.version = code, min(code, 127), 2  # LiteRT: BROADCAST_TO starts at 2
    model.operatorCodes.append(oc)
    return len(model.operatorCodes) - 1


def tile_to_broadcast(data: bytes) -> tuple[bytes, int]:
    """(the model with every broadcasting TILE replaced by BROADCAST_TO, how many were replaced)."""
    from tensorflow.lite.tools import flatbuffer_utils

    s = schema()
    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(data))
    replaced = 0
    for sg in model.subgraphs:
        for op in sg.operators or []:
            if op_name(model.operatorCodes[op.opcodeIndex]) != "TILE" or len(op.inputs) != 2:
                continue
            x, out = int(op.inputs[0]), int(op.outputs[0])
            in_shape = [int(d) for d in sg.tensors[x].shape]
            if not _is_broadcast(in_shape, _const(model, sg, int(op.inputs[1]))):
                continue
            shape = np.asarray(sg.tensors[out].shape, np.int32)
            buf = s.BufferT()
            buf.data = np.frombuffer(shape.tobytes(), np.uint8)
            model.buffers.append(buf)
            t = s.TensorT()
            t.name, t.shape, t.type, t.buffer = b"broadcast_shape", [len(shape)], 2, len(model.buffers) - 1
            sg.tensors.append(t)
            op.opcodeIndex = _broadcast_opcode(model, s)
            op.inputs = [x, len(sg.tensors) - 1]
            op.builtinOptionsType, op.builtinOptions = 0, None
            replaced += 1
    if not replaced:
        return data, 0
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model)), replaced
