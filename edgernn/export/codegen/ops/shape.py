"""Ops that only move bytes: RESHAPE, GATHER (axis 0), SPLIT, STRIDED_SLICE. Inline C, no kernel file."""
from __future__ import annotations

import numpy as np

from edgernn.errors import UserError
from edgernn.export.codegen.ops import register
from edgernn.tflite.types import INT32
from edgernn.tflite.validate import OpCheck


def contract_reshape(c: OpCheck) -> None:
    c.outputs_count(1)
    x, out = c.operand("input"), c.outputs[0]
    c.type(out, c.g.type(c.sg, x))
    c.same_numel(x, out)


def contract_gather(c: OpCheck) -> None:
    c.outputs_count(1)
    params, idx, out = c.operand("params"), c.operand("indices"), c.outputs[0]
    c.type(idx, INT32)
    c.type(out, c.g.type(c.sg, params))
    c.need(len(c.shape(params)) >= 1 and c.shape(params)[0] > 0, f"params shape {c.shape(params)} has no rows")
    row = c.numel(params) // c.shape(params)[0]
    c.need(c.numel(out) == c.numel(idx) * row, f"output has {c.numel(out)} elements, the op makes "
                                               f"{c.numel(idx) * row}")


def contract_split(c: OpCheck) -> None:
    axis_t, x = c.operand("axis"), c.operand("input")
    c.type(axis_t, INT32)
    axis_v = c.const(axis_t, "axis").reshape(-1)
    c.need(axis_v.size == 1, "axis must be one value")
    rank, k = len(c.shape(x)), len(c.outputs)
    c.need(rank > 0 and -rank <= int(axis_v[0]) < rank, f"axis {int(axis_v[0])} out of range for rank {rank}")
    dim = c.shape(x)[int(axis_v[0]) % rank]
    c.need(k > 0 and dim % k == 0, f"dimension {dim} does not split into {k} equal parts")
    for out in c.outputs:
        c.type(out, c.g.type(c.sg, x))
        c.need(c.numel(out) == c.numel(x) // k, f"output {out} has {c.numel(out)} elements, needs {c.numel(x) // k}")


def contract_strided_slice(c: OpCheck) -> None:
    c.outputs_count(1)
    x, out = c.operand("input"), c.outputs[0]
    c.type(out, c.g.type(c.sg, x))
    rank = len(c.shape(x))
    for name in ("begin", "end", "strides"):
        c.type(c.operand(name), INT32)
        c.need(c.const(c.operand(name), name).size == rank, f"{name} must have one value per input dimension")
    c.need(rank > 0 and all(d > 0 for d in c.shape(x)), f"input shape {c.shape(x)} is empty")
    c.need(all(int(s) != 0 for s in c.const(c.operand("strides"), "strides").reshape(-1)), "a stride is 0")
    c.need(c.op.builtinOptions is not None, "no options")


@register("RESHAPE", contract=contract_reshape)
def emit_reshape(em, sg, op):
    x, out = em.g.operands(op).input, int(op.outputs[0])
    return [f"memcpy({em.ref(sg, out)}, {em.ref(sg, x)}, {em.nbytes(sg, x)});"]


@register("GATHER", contract=contract_gather)
def emit_gather(em, sg, op):
    ins, out = em.g.operands(op), int(op.outputs[0])
    if op.builtinOptions is not None and op.builtinOptions.axis != 0:
        raise UserError("GATHER on an axis other than 0 is not supported by the C generator yet")
    shape = em.g.shape(sg, ins.params)
    row = em.nbytes(sg, ins.params) // shape[0]
    n, idx = em.numel(sg, ins.indices), em.ref(sg, ins.indices)
    # Indices are data (the loop step in a GRU): out of range stops the inference, as in TFLite Micro.
    return [f"for (int i = 0; i < {n}; ++i) {{",
            f"  if ((uint32_t){idx}[i] >= {shape[0]}u) return ERN_ERROR_INDEX_OUT_OF_RANGE;",
            f"  memcpy((uint8_t *){em.ref(sg, out)} + i * {row}, (const uint8_t *){em.ref(sg, ins.params)} + "
            f"{idx}[i] * {row}, {row});",
            "}"]


@register("SPLIT", contract=contract_split)
def emit_split(em, sg, op):
    ins = em.g.operands(op)
    shape = em.g.shape(sg, ins.input)
    axis = int(em.g.const(sg, ins.axis).reshape(-1)[0]) % len(shape)
    size = em.nbytes(sg, ins.input) // max(em.numel(sg, ins.input), 1)
    outer = int(np.prod(shape[:axis])) if axis else 1
    inner = int(np.prod(shape[axis + 1:])) * size
    chunk = shape[axis] // len(op.outputs) * inner
    src = em.ref(sg, ins.input)
    return [f"for (int o = 0; o < {outer}; ++o) memcpy((uint8_t *){em.ref(sg, int(out))} + o * {chunk}, "
            f"(const uint8_t *){src} + o * {shape[axis] * inner} + {j * chunk}, {chunk});"
            for j, out in enumerate(op.outputs)]


def strided_slice_indices(shape, begin, end, strides, options) -> np.ndarray:
    """Flat input indices STRIDED_SLICE reads, in output order (masks as TFLite defines them)."""
    if options.ellipsisMask or options.newAxisMask or getattr(options, "offset", False):
        raise UserError("STRIDED_SLICE with ellipsis, new-axis or offset options is not supported by the C generator")
    index = []
    for axis, dim in enumerate(shape):
        b, e, s = int(begin[axis]), int(end[axis]), int(strides[axis])
        if options.shrinkAxisMask >> axis & 1:
            index.append(b % dim)
        else:
            index.append(slice(None if options.beginMask >> axis & 1 else b,
                               None if options.endMask >> axis & 1 else e, s))
    return np.arange(int(np.prod(shape))).reshape([int(d) for d in shape])[tuple(index)].reshape(-1)


@register("STRIDED_SLICE", contract=contract_strided_slice)
def emit_strided_slice(em, sg, op):
    ins, out = em.g.operands(op), int(op.outputs[0])
    x = ins.input
    flat = strided_slice_indices(em.g.shape(sg, x), *(em.g.const(sg, i).reshape(-1) for i in (ins.begin, ins.end, ins.strides)),
                                 op.builtinOptions)
    if flat.size != em.numel(sg, out) or flat.size == 0:
        raise UserError(f"STRIDED_SLICE {em.g.name(sg, out)!r}: the slice has {flat.size} elements, "
                        f"its output {em.numel(sg, out)}")
    size = em.nbytes(sg, x) // em.numel(sg, x)
    if np.array_equal(flat, np.arange(flat[0], flat[0] + flat.size)):  # one contiguous run: a copy
        return [f"memcpy({em.ref(sg, out)}, (const uint8_t *){em.ref(sg, x)} + {int(flat[0]) * size}, "
                f"{flat.size * size});"]
    idx = em.const_array("int32_t", f"slice{sg}_{out}", flat)
    return [f"for (int i = 0; i < {flat.size}; ++i) {em.ref(sg, out)}[i] = {em.ref(sg, x)}[{idx}[i]];"]
