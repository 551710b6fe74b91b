"""``edgernn export MODEL.tflite --format c``: an int8 .tflite -> interpreter-less C99.

The generated ``model.c`` calls the kernels of ``firmware/runtime/edgernn_rt.c`` in graph
order. No malloc, no interpreter, no flatbuffer parsing on the device: constants are ``const``
arrays (flash), every activation lives at a fixed offset of one static arena, and all
quantization parameters are integers computed here exactly as TFLite Micro's Prepare computes
them (``params.py``). LOGISTIC and TANH are 256-entry tables filled by running TFLite Micro's own
kernel on every int8 input, so they are exact by construction and cheaper on the device.
WHILE becomes a C loop over the cond and body subgraphs.

Supported ops: FULLY_CONNECTED (per-tensor or per-channel weights), ADD, SUB, MUL (int8),
ADD (int32), LOGISTIC, TANH, SOFTMAX, RESHAPE, GATHER, SPLIT, STRIDED_SLICE, LESS, WHILE (the op
set of edgernn's int8 GRU graph) and UNIDIRECTIONAL_SEQUENCE_LSTM with int8 activations and an
int16 cell (the converter's int8 LSTM; see ``lstm.py``). Others are reported by name.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from edgernn import io
from edgernn.errors import UserError
from edgernn.resources import firmware_dir
from edgernn.export.codegen import lstm as L
from edgernn.export.codegen import params as P
from edgernn.export.codegen.tflm_probe import op_on_every_input

RUNTIME_DIR = firmware_dir() / "runtime"
RUNTIME_FILES = ("edgernn_rt.h", "edgernn_rt.c")
GENERATOR_VERSION = 5
_CTYPES = {9: "int8_t", 2: "int32_t", 6: "uint8_t", 7: "int16_t"}
_SIZES = {9: 1, 2: 4, 6: 1, 7: 2}
SUPPORTED_OPS = ("FULLY_CONNECTED, ADD, SUB, MUL, LOGISTIC, TANH, SOFTMAX, RESHAPE, GATHER, SPLIT, STRIDED_SLICE, "
                 "LESS, WHILE, UNIDIRECTIONAL_SEQUENCE_LSTM")
SCRATCH = 1 << 20  # arena keys SCRATCH + k: working memory of op k (not a tensor of the model)


def runtime_sources() -> list[Path]:
    files = [RUNTIME_DIR / f for f in RUNTIME_FILES]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise UserError(f"C runtime sources not found ({', '.join(missing)}); use edgernn from its source tree")
    return files


class _Graph:
    """The flatbuffer plus helpers to name tensors and read constants."""

    def __init__(self, model_path: Path):
        from edgernn.export.tflite_builder import schema
        from edgernn.export.tflite_info import op_name, read_model

        self.s = schema()
        self.m = read_model(model_path)
        self.op_name = lambda op: op_name(self.s, self.m.operatorCodes[op.opcodeIndex])

    def tensor(self, sg: int, i: int):
        return self.m.subgraphs[sg].tensors[i]

    def const(self, sg: int, i: int) -> np.ndarray | None:
        t = self.tensor(sg, i)
        buf = self.m.buffers[t.buffer]
        if buf.data is None or len(buf.data) == 0:
            return None
        dtype = {9: np.int8, 2: np.int32, 6: np.bool_, 0: np.float32}[t.type]
        return np.frombuffer(bytes(np.asarray(buf.data, dtype=np.uint8)), dtype=dtype).reshape(t.shape)

    def qparams(self, sg: int, i: int) -> tuple[float, int]:
        q = self.tensor(sg, i).quantization
        if q is None or q.scale is None or len(q.scale) == 0:
            return 0.0, 0
        if len(q.scale) > 1:
            raise UserError("per-channel quantized tensors are supported only as FULLY_CONNECTED weights")
        return float(q.scale[0]), int(q.zeroPoint[0])

    def scales(self, sg: int, i: int) -> list[float]:
        """Every scale of a tensor: one, or one per channel."""
        q = self.tensor(sg, i).quantization
        return [float(v) for v in q.scale]

    def scratch_bytes(self, sg: int, k: int, op) -> int:
        """Working memory op k needs beyond its tensors: the widened int16 input of a FULLY_CONNECTED;
        the LSTM's four int16 gate vectors and its widened input and hidden state."""
        name = self.op_name(op)
        if name == "FULLY_CONNECTED":
            return 2 * pad4(int(self.tensor(sg, op.inputs[1]).shape[1]))
        if name == "UNIDIRECTIONAL_SEQUENCE_LSTM":
            n_state = int(self.tensor(sg, op.inputs[L.HIDDEN_STATE]).shape[-1])
            n_input = int(self.tensor(sg, op.inputs[0]).shape[-1])
            return 2 * (4 * n_state + pad4(n_input) + pad4(n_state))
        return 0


def pad4(n: int) -> int:
    return (n + 3) // 4 * 4


def pack_weights(w: np.ndarray) -> np.ndarray:
    """[rows][cols] int8 -> the kernels' layout: rows in blocks of 4, columns in groups of 4, zero-padded;
    block b, group g holds 4 bytes of each of rows 4b..4b+3 in turn."""
    rows, cols = w.shape
    padded = np.zeros((pad4(rows), pad4(cols)), np.int8)
    padded[:rows, :cols] = w
    return padded.reshape(pad4(rows) // 4, 4, pad4(cols) // 4, 4).transpose(0, 2, 1, 3).reshape(-1)


def numel(t) -> int:
    return int(np.prod(t.shape)) if len(t.shape) else 1


def lut_from_tflm(op: str, in_q: tuple[float, int], out_q: tuple[float, int]) -> np.ndarray:
    """Run TFLite Micro's LOGISTIC/TANH on all 256 int8 inputs: the exact table."""
    return op_on_every_input(op, "int8", in_q, out_q).astype(np.int8)


def c_array(values: np.ndarray, per_line: int = 16) -> str:
    flat = [str(int(v)) for v in np.asarray(values).ravel()]
    return ",\n  ".join(", ".join(flat[i:i + per_line]) for i in range(0, len(flat), per_line))


def _lifetimes(graph: _Graph, sg: int) -> dict[int, list[int]]:
    """[first, last] op index at which each activation tensor of subgraph ``sg`` is live.

    Subgraph inputs are live from before the first op (-1), outputs until after the last (n).
    An op's inputs and outputs overlap at its index, so an output never shares memory with an
    input of the same op (the kernels do not work in place).
    """
    g = graph.m.subgraphs[sg]
    ops = g.operators or []
    life: dict[int, list[int]] = {}

    def touch(t: int, k: int) -> None:
        if t < 0 or graph.const(sg, t) is not None:
            return
        span = life.setdefault(t, [k, k])
        span[0], span[1] = min(span[0], k), max(span[1], k)

    for t in g.inputs:
        touch(t, -1)
    for k, op in enumerate(ops):
        for t in list(op.inputs) + list(op.outputs):
            touch(t, k)
        if graph.scratch_bytes(sg, k, op):
            life[SCRATCH + k] = [k, k]
    for t in g.outputs:
        touch(t, len(ops))
    return life


def _place(spans: dict[int, list[int]], sizes: dict[int, int]) -> tuple[dict[int, int], int]:
    """Greedy first-fit: biggest tensors first, lowest 4-aligned offset clear of every tensor live at the same time."""
    placed: list[tuple[int, int, int, int]] = []  # (offset, end offset, first, last)
    offsets, top = {}, 0
    for t in sorted(spans, key=lambda t: (-sizes[t], t)):
        first, last = spans[t]
        clashes = sorted((o, e) for o, e, f, l in placed if f <= last and first <= l)
        offset = 0
        for o, e in clashes:
            if offset + sizes[t] <= o:
                break
            offset = max(offset, (e + 3) // 4 * 4)
        offsets[t] = offset
        placed.append((offset, offset + sizes[t], first, last))
        top = max(top, offset + sizes[t])
    return offsets, top


def plan_arena(graph: _Graph) -> tuple[dict[tuple[int, int], int], int]:
    """Offsets of every activation in one static arena, reused across lifetimes.

    The main subgraph gets the bottom of the arena. Loop subgraphs (WHILE cond and body) run only
    inside the WHILE op, never at the same time as each other, so they share one region above it.
    """
    offsets: dict[tuple[int, int], int] = {}
    aliases = _passthrough_aliases(graph)
    base, loop_region = 0, 0
    for sg in range(len(graph.m.subgraphs)):
        spans = {t: span for t, span in _lifetimes(graph, sg).items() if (sg, t) not in aliases}
        ops = graph.m.subgraphs[sg].operators or []
        sizes = {t: graph.scratch_bytes(sg, t - SCRATCH, ops[t - SCRATCH]) if t >= SCRATCH
                 else numel(graph.tensor(sg, t)) * _SIZES.get(graph.tensor(sg, t).type, 4) for t in spans}
        local, size = _place(spans, sizes)
        if sg == 0:
            base = (size + 15) // 16 * 16
        else:
            loop_region = max(loop_region, size)
        for t, o in local.items():
            offsets[(sg, t)] = o if sg == 0 else base + o
    for key, target in aliases.items():
        offsets[key] = offsets[target]
    return offsets, base + loop_region


def _passthrough_aliases(graph: _Graph) -> dict[tuple[int, int], tuple[int, int]]:
    """WHILE body inputs that the body passes through unchanged (the GRU's input sequence): they are
    read straight from the loop state, so they need no arena of their own and no copy per step."""
    aliases = {}
    for sg, g in enumerate(graph.m.subgraphs):
        for op in g.operators or []:
            if graph.op_name(op) != "WHILE":
                continue
            body = graph.m.subgraphs[op.builtinOptions.bodySubgraphIndex]
            for bi, bo, out in zip(body.inputs, body.outputs, op.outputs):
                if bi == bo:
                    aliases[(op.builtinOptions.bodySubgraphIndex, bi)] = (sg, out)
    return aliases


class Emitter:
    def __init__(self, graph: _Graph):
        self.g = graph
        self.consts: list[str] = []
        self.const_names: set[str] = set()
        self.const_bytes = 0
        self.arena_offsets, self.arena_size = plan_arena(graph)
        self.functions: list[str] = []
        self.ops_used: set[str] = set()
        self.sg, self.op_index = 0, 0  # subgraph and index of the op being emitted, for its scratch memory

    def const_array(self, ctype: str, name: str, values) -> str:
        """Emit a const array once, however often it is used (model constants, packed weights, folded
        biases, tables); returns its name. 4-byte aligned: the DSP kernels load weights a word (or
        two) at a time. ``values`` may be a callable, evaluated only on first use."""
        if name not in self.const_names:
            self.const_names.add(name)
            values = np.asarray(values() if callable(values) else values)
            self.consts.append(f"static const {ctype} {name}[{values.size}] ERN_ALIGN(4) = {{\n  "
                               f"{c_array(values)}\n}};")
            self.const_bytes += values.size * {"int8_t": 1, "uint8_t": 1, "int16_t": 2, "uint16_t": 2}.get(ctype, 4)
        return name

    # storage -------------------------------------------------------------------------------
    def packed(self, sg: int, i: int) -> str:
        """A weight matrix in the kernels' packed layout."""
        return self.const_array("int8_t", f"w{sg}_{i}", lambda: pack_weights(self.g.const(sg, i)))

    def scratch(self) -> str:
        """This op's working memory in the arena."""
        return f"(arena + {self.arena_offsets[(self.sg, SCRATCH + self.op_index)]})"

    def ref(self, sg: int, i: int) -> str:
        """C expression for tensor i of subgraph sg (a const array or a place in the arena)."""
        t = self.g.tensor(sg, i)
        ctype = _CTYPES.get(t.type)
        if ctype is None:
            raise UserError(f"tensor {t.name!r} has a type the C generator does not support ({t.type})")
        data = self.g.const(sg, i)
        if data is not None:
            return self.const_array(ctype, f"t{sg}_{i}", data)
        return f"(({ctype} *)(arena + {self.arena_offsets[(sg, i)]}))"

    def nbytes(self, sg: int, i: int) -> int:
        t = self.g.tensor(sg, i)
        return numel(t) * _SIZES[t.type]

    # ops -------------------------------------------------------------------------------------
    def subgraph(self, sg: int) -> None:
        lines = [f"static void subgraph_{sg}(void) {{"]
        for k, op in enumerate(self.g.m.subgraphs[sg].operators or []):
            name = self.g.op_name(op)
            self.ops_used.add(name)
            emit = getattr(self, f"op_{name.lower()}", None)
            if emit is None:
                raise UserError(f"op {name} is not supported by the C generator yet (supported: {SUPPORTED_OPS})")
            self.op_index, self.sg = k, sg
            lines.append(f"  /* {k}: {name} */")
            lines += ["  " + line for line in emit(sg, op)]
        lines.append("}")
        self.functions.append("\n".join(lines))

    def op_reshape(self, sg, op):
        return [f"memcpy({self.ref(sg, op.outputs[0])}, {self.ref(sg, op.inputs[0])}, {self.nbytes(sg, op.inputs[0])});"]

    def op_fully_connected(self, sg, op):
        x, w, b = op.inputs[0], op.inputs[1], op.inputs[2] if len(op.inputs) > 2 else -1
        wt = self.g.tensor(sg, w)
        rows, cols = wt.shape
        (s_in, z_in), (s_out, z_out) = self.g.qparams(sg, x), self.g.qparams(sg, op.outputs[0])
        w_scales = self.g.scales(sg, w)
        if any(self.g.tensor(sg, w).quantization.zeroPoint):
            raise UserError("FULLY_CONNECTED with a non-zero weight zero point is not supported")
        if op.builtinOptions is not None and op.builtinOptions.fusedActivationFunction != 0:
            raise UserError("FULLY_CONNECTED with a fused activation is not supported by the C generator yet")
        batches = numel(self.g.tensor(sg, x)) // cols
        bias = self.g.const(sg, b) if b >= 0 else np.zeros(rows, np.int32)
        # Fold the input zero point into the bias (exact in int32 arithmetic, wrap-around included).
        folded = self.const_array("int32_t", f"bias{sg}_{op.outputs[0]}", P.fold_zero_point(bias, -z_in, self.g.const(sg, w)))
        head = f"{self.ref(sg, x)}, {batches}, {cols}, {self.packed(sg, w)}, {folded}, {rows}"
        x16, out = f"(int16_t *){self.scratch()}", self.ref(sg, op.outputs[0])
        if len(w_scales) == 1:
            p = P.fully_connected(s_in, z_in, w_scales[0], s_out, z_out)
            return [f"ern_fully_connected_s8({head}, {p['multiplier']}, {p['shift']}, {z_out}, {x16}, {out});"]
        # Per-channel weights: one multiplier and shift per output row, as TFLite Micro's Prepare makes them.
        per_row = [P.fully_connected(s_in, z_in, s, s_out, z_out) for s in w_scales]
        mults = self.const_array("int32_t", f"mult{sg}_{op.outputs[0]}", np.array([p["multiplier"] for p in per_row]))
        shifts = self.const_array("int32_t", f"shift{sg}_{op.outputs[0]}", np.array([p["shift"] for p in per_row]))
        return [f"ern_fully_connected_per_channel_s8({head}, {mults}, {shifts}, {z_out}, {x16}, {out});"]

    def _binary_params(self, sg, op):
        a, b, out = op.inputs[0], op.inputs[1], op.outputs[0]
        if numel(self.g.tensor(sg, a)) != numel(self.g.tensor(sg, b)):
            raise UserError("broadcasting element-wise ops are not supported by the C generator yet")
        return (*self.g.qparams(sg, a), *self.g.qparams(sg, b), *self.g.qparams(sg, out))

    def _add_sub(self, sg, op, kind):
        a, b, out = op.inputs[0], op.inputs[1], op.outputs[0]
        n = numel(self.g.tensor(sg, out))
        if self.g.tensor(sg, out).type == 2:  # int32 (the loop counter)
            sign = "+" if kind == "add" else "-"
            return [f"for (int i = 0; i < {n}; ++i) {self.ref(sg, out)}[i] = {self.ref(sg, a)}[i] {sign} {self.ref(sg, b)}[i];"]
        p = (P.add if kind == "add" else P.sub)(*self._binary_params(sg, op))
        # The input rescaled by exactly 1/2 (the larger scale; both when the scales are equal) is
        # (x + offset) << 19 in the kernel; the other one is tabulated, negated if it is subtracted.
        half = [p[f"input{k}_multiplier"] == 1 << 30 and p[f"input{k}_shift"] == 0 for k in (1, 2)]
        if not any(half):
            raise UserError(f"{kind.upper()} without an input at the larger scale: not supported by the C generator")
        tabled = 1 if half[0] else 0  # index of the tabled input
        table = P.add_input_table(p[f"input{tabled + 1}_offset"], p[f"input{tabled + 1}_multiplier"],
                                  p[f"input{tabled + 1}_shift"], p["left_shift"], negate=kind == "sub" and tabled == 1)
        name = self.const_array("int32_t", f"addtab{sg}_{out}", np.array(table))
        plain_sign = -1 if kind == "sub" and tabled == 0 else 1
        fields = [name, tabled, p[f"input{2 - tabled}_offset"], plain_sign, p["output_multiplier"], p["output_shift"],
                  p["output_offset"]]
        return ["{", f"  static const ern_add_params p = {{{', '.join(map(str, fields))}}};",
                f"  ern_add_s8(&p, {self.ref(sg, a)}, {self.ref(sg, b)}, {self.ref(sg, out)}, {n});", "}"]

    def op_add(self, sg, op):
        return self._add_sub(sg, op, "add")

    def op_sub(self, sg, op):
        return self._add_sub(sg, op, "sub")

    def op_mul(self, sg, op):
        p = P.mul(*self._binary_params(sg, op))
        a, b, out = op.inputs[0], op.inputs[1], op.outputs[0]
        return [f"ern_mul_s8({self.ref(sg, a)}, {p['a_offset']}, {self.ref(sg, b)}, {p['b_offset']}, {self.ref(sg, out)}, "
                f"{numel(self.g.tensor(sg, out))}, {p['multiplier']}, {p['shift']}, {p['output_offset']});"]

    def _lut(self, sg, op, name):
        table = lut_from_tflm(name, self.g.qparams(sg, op.inputs[0]), self.g.qparams(sg, op.outputs[0]))
        # Indexed by the input's byte: entries for 0..127, then for -128..-1.
        tname = self.const_array("int8_t", f"lut{sg}_{op.outputs[0]}", np.roll(table, -128))
        return [f"ern_lut_s8({tname}, {self.ref(sg, op.inputs[0])}, {self.ref(sg, op.outputs[0])}, "
                f"{numel(self.g.tensor(sg, op.outputs[0]))});"]

    def op_logistic(self, sg, op):
        return self._lut(sg, op, "LOGISTIC")

    def op_tanh(self, sg, op):
        return self._lut(sg, op, "TANH")

    def op_softmax(self, sg, op):
        beta = op.builtinOptions.beta if op.builtinOptions is not None else 1.0
        t = self.g.tensor(sg, op.inputs[0])
        p = P.softmax(self.g.qparams(sg, op.inputs[0])[0], beta)
        depth = t.shape[-1]
        return [f"ern_softmax_s8({self.ref(sg, op.inputs[0])}, {numel(t) // depth}, {depth}, {p['beta_multiplier']}, "
                f"{p['beta_left_shift']}, {p['diff_min']}, {self.ref(sg, op.outputs[0])});"]

    def op_gather(self, sg, op):
        params, idx, out = op.inputs[0], op.inputs[1], op.outputs[0]
        if op.builtinOptions is not None and op.builtinOptions.axis != 0:
            raise UserError("GATHER on an axis other than 0 is not supported by the C generator yet")
        pt = self.g.tensor(sg, params)
        row = numel(pt) // pt.shape[0] * _SIZES[pt.type]
        n = numel(self.g.tensor(sg, idx))
        return [f"for (int i = 0; i < {n}; ++i) memcpy((uint8_t *){self.ref(sg, out)} + i * {row}, "
                f"(const uint8_t *){self.ref(sg, params)} + {self.ref(sg, idx)}[i] * {row}, {row});"]

    def op_split(self, sg, op):
        axis_t, x = op.inputs[0], op.inputs[1]
        shape = list(self.g.tensor(sg, x).shape)
        axis = int(self.g.const(sg, axis_t).reshape(-1)[0]) % len(shape)
        outer = int(np.prod(shape[:axis])) if axis else 1
        inner = int(np.prod(shape[axis + 1:])) * _SIZES[self.g.tensor(sg, x).type]
        k = len(op.outputs)
        chunk = shape[axis] // k * inner
        lines = []
        for j, out in enumerate(op.outputs):
            lines.append(f"for (int o = 0; o < {outer}; ++o) memcpy((uint8_t *){self.ref(sg, out)} + o * {chunk}, "
                         f"(const uint8_t *){self.ref(sg, x)} + o * {shape[axis] * inner} + {j * chunk}, {chunk});")
        return lines

    def op_strided_slice(self, sg, op):
        x, out = op.inputs[0], op.outputs[0]
        flat = strided_slice_indices(self.g.tensor(sg, x).shape, *(self.g.const(sg, i) for i in op.inputs[1:4]),
                                     op.builtinOptions)
        size = _SIZES[self.g.tensor(sg, x).type]
        if np.array_equal(flat, np.arange(flat[0], flat[0] + flat.size)):  # one contiguous run: a copy
            return [f"memcpy({self.ref(sg, out)}, (const uint8_t *){self.ref(sg, x)} + {int(flat[0]) * size}, "
                    f"{flat.size * size});"]
        idx = self.const_array("int32_t", f"slice{sg}_{out}", flat)
        return [f"for (int i = 0; i < {flat.size}; ++i) {self.ref(sg, out)}[i] = {self.ref(sg, x)}[{idx}[i]];"]

    def op_unidirectional_sequence_lstm(self, sg, op):
        p = L.lstm_params(self.g, sg, op)
        name = f"lstm{sg}_{op.outputs[0]}"
        self.const_array("uint16_t", "ern_lstm_sigmoid_table", L.sigmoid_table)
        g = p["gates"]
        in_bias = [self.const_array("int32_t", f"{name}_bias_in{k}", gate["input_bias"]) for k, gate in enumerate(g)]
        rec_bias = [self.const_array("int32_t", f"{name}_bias_rec{k}", gate["recurrent_bias"]) for k, gate in enumerate(g)]
        arr = lambda items: "{" + ", ".join(str(v) for v in items) + "}"  # noqa: E731
        fields = [p["steps"], p["n_input"], p["n_state"],
                  arr(self.packed(sg, gate["input_weights"]) for gate in g),
                  arr(self.packed(sg, gate["recurrent_weights"]) for gate in g), arr(in_bias), arr(rec_bias),
                  arr(gate["input_multiplier"] for gate in g), arr(gate["recurrent_multiplier"] for gate in g),
                  arr(gate["input_shift"] for gate in g), arr(gate["recurrent_shift"] for gate in g),
                  p["cell_gate_tanh"], p["forget_mul"][0], p["input_mul"][0], p["output_mul"][0],
                  p["forget_mul"][1], p["input_mul"][1], p["output_mul"][1], p["hidden_zero_point"],
                  p["cell_tanh_multiplier"], p["cell_tanh_shift"], p["cell_clip"], "ern_lstm_sigmoid_table"]
        self.consts.append(f"static const ern_lstm_params {name} = {{{', '.join(map(str, fields))}}};")
        scratch = f"(int16_t *){self.scratch()}"
        hidden, cell = self.ref(sg, p["hidden"]), self.ref(sg, p["cell"])
        # TFLite Micro resets variable tensors per inference: int8 to its zero point, int16 to 0.
        return [f"memset({hidden}, {p['hidden_zero_point']}, {p['n_state']});",
                f"memset({cell}, 0, {2 * p['n_state']});",
                f"ern_lstm_s8(&{name}, {self.ref(sg, op.inputs[0])}, {hidden}, {cell}, {self.ref(sg, op.outputs[0])}, "
                f"{scratch});"]

    def op_less(self, sg, op):
        a, b, out = op.inputs[0], op.inputs[1], op.outputs[0]
        n = numel(self.g.tensor(sg, out))
        return [f"for (int i = 0; i < {n}; ++i) {self.ref(sg, out)}[i] = {self.ref(sg, a)}[i] < {self.ref(sg, b)}[i];"]

    def op_while(self, sg, op):
        cond, body = op.builtinOptions.condSubgraphIndex, op.builtinOptions.bodySubgraphIndex
        for k in (cond, body):
            if not any(f"subgraph_{k}(void)" in f for f in self.functions):
                self.subgraph(k)
        cg, bg = self.g.m.subgraphs[cond], self.g.m.subgraphs[body]
        def copy(dst_sg, dst, src_sg, src):
            if self.ref(dst_sg, dst) == self.ref(src_sg, src):  # an aliased passthrough: already in place
                return "/* in place */"
            return f"memcpy({self.ref(dst_sg, dst)}, {self.ref(src_sg, src)}, {self.nbytes(src_sg, src)});"

        # Loop state lives in the WHILE outputs. Copies are skipped where nothing reads them: cond
        # inputs its ops never use (the GRU's cond reads only the counter), and body outputs that are
        # the body's own input passed through (the state already holds that value).
        cond_reads = {t for o in cg.operators or [] for t in o.inputs} | set(cg.outputs)
        lines = [copy(sg, o, sg, i) for i, o in zip(op.inputs, op.outputs)]
        lines.append("for (;;) {")
        lines += ["  " + copy(cond, ci, sg, o) for ci, o in zip(cg.inputs, op.outputs) if ci in cond_reads]
        lines += [f"  subgraph_{cond}();", f"  if (!{self.ref(cond, cg.outputs[0])}[0]) break;"]
        lines += ["  " + copy(body, bi, sg, o) for bi, o in zip(bg.inputs, op.outputs)]
        lines.append(f"  subgraph_{body}();")
        lines += ["  " + copy(sg, o, body, bo) for bo, bi, o in zip(bg.outputs, bg.inputs, op.outputs) if bo != bi]
        lines.append("}")
        return lines


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


def generate_c(model_path: str | Path, out_dir: str | Path, name: str = "model") -> Path:
    """Write ``<name>.c``/``<name>.h`` and the runtime sources into ``out_dir``; returns the .c path."""
    model_path = Path(model_path)
    graph = _Graph(model_path)
    main = graph.m.subgraphs[0]
    t_in, t_out = graph.tensor(0, main.inputs[0]), graph.tensor(0, main.outputs[0])
    if t_in.type != 9 or t_out.type != 9:
        raise UserError(f"{model_path}: the C generator needs a full-integer model with int8 input and output "
                        "(`edgernn quantize RUN --mode int8`)")
    em = Emitter(graph)
    em.subgraph(0)
    in_ref, out_ref = em.ref(0, main.inputs[0]), em.ref(0, main.outputs[0])
    (s_in, z_in), (s_out, z_out) = graph.qparams(0, main.inputs[0]), graph.qparams(0, main.outputs[0])
    n_in, n_out = numel(t_in), numel(t_out)
    functions = sorted(em.functions, key=lambda f: -int(f.split("subgraph_")[1].split("(")[0]))  # callees first
    source = "\n\n".join([
        f"/* Generated by edgernn from {model_path.name} (sha256 {hashlib.sha256(model_path.read_bytes()).hexdigest()[:16]}).\n"
        f" * Ops: {', '.join(sorted(em.ops_used))}. Constants {em.const_bytes} bytes, arena {em.arena_size} bytes. */",
        f'#include <string.h>\n#include "edgernn_rt.h"\n#include "{name}.h"',
        f"static uint8_t arena[{max(em.arena_size, 4)}] ERN_ALIGN(16);",
        *em.consts, *functions,
        f"const unsigned edgernn_{name}_arena_bytes = {em.arena_size};\n"
        f"const unsigned edgernn_{name}_const_bytes = {em.const_bytes};\n\n"
        f"int edgernn_{name}_invoke(const int8_t *input, int8_t *output) {{\n"
        f"  memcpy({in_ref}, input, {n_in});\n  subgraph_0();\n  memcpy(output, {out_ref}, {n_out});\n  return 0;\n}}\n"])
    guard = f"EDGERNN_{name.upper()}_H_"
    header = (f"/* Generated by edgernn from {model_path.name}. */\n#ifndef {guard}\n#define {guard}\n#include <stdint.h>\n\n"
              f"#define EDGERNN_{name.upper()}_INPUT_SIZE {n_in}\n#define EDGERNN_{name.upper()}_OUTPUT_SIZE {n_out}\n"
              f"#define EDGERNN_{name.upper()}_INPUT_SCALE {s_in!r}f\n#define EDGERNN_{name.upper()}_INPUT_ZERO_POINT {z_in}\n"
              f"#define EDGERNN_{name.upper()}_OUTPUT_SCALE {s_out!r}f\n#define EDGERNN_{name.upper()}_OUTPUT_ZERO_POINT {z_out}\n\n"
              f"extern const unsigned edgernn_{name}_arena_bytes;\nextern const unsigned edgernn_{name}_const_bytes;\n"
              f"/* One inference: int8 input [{n_in}] -> int8 output [{n_out}]. Not reentrant (one static arena). */\n"
              f"int edgernn_{name}_invoke(const int8_t *input, int8_t *output);\n\n#endif\n")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for f in runtime_sources():
        io.atomic_write_bytes(out_dir / f.name, f.read_bytes())
    io.atomic_write_text(out_dir / f"{name}.h", header)
    io.atomic_write_text(out_dir / f"{name}.c", source + "\n")
    return out_dir / f"{name}.c"
