"""``edgernn export MODEL.tflite --format c``: an int8 .tflite -> interpreter-less C99.

The generated ``model.c`` calls the kernels of ``firmware/runtime/edgernn_rt.c`` in graph
order. No malloc, no interpreter, no flatbuffer parsing on the device: constants are ``const``
arrays (flash), every activation lives at a fixed offset of one static arena, and all
quantization parameters are integers computed here exactly as TFLite Micro's Prepare computes
them (``params.py``). LOGISTIC and TANH are 256-entry tables filled by running TFLite Micro's own
kernel on every int8 input, so they are exact by construction and cheaper on the device.
WHILE becomes a C loop over the cond and body subgraphs.

Supported ops: FULLY_CONNECTED, ADD, SUB, MUL (int8), ADD (int32), LOGISTIC, TANH, SOFTMAX,
RESHAPE, GATHER, SPLIT, LESS, WHILE: the op set of edgernn's int8 GRU graph. Others (the fused
UNIDIRECTIONAL_SEQUENCE_LSTM among them) are reported by name.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from edgernn import io
from edgernn.errors import UserError
from edgernn.export.codegen import params as P

RUNTIME_DIR = Path(__file__).resolve().parents[3] / "firmware" / "runtime"
RUNTIME_FILES = ("edgernn_rt.h", "edgernn_rt.c")
GENERATOR_VERSION = 3
_CTYPES = {9: "int8_t", 2: "int32_t", 6: "uint8_t"}
_SIZES = {9: 1, 2: 4, 6: 1}


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
            raise UserError("per-channel quantized tensors are not supported by the C generator yet")
        return float(q.scale[0]), int(q.zeroPoint[0])


def numel(t) -> int:
    return int(np.prod(t.shape)) if len(t.shape) else 1


def lut_from_tflm(op: str, in_q: tuple[float, int], out_q: tuple[float, int]) -> np.ndarray:
    """Run TFLite Micro's LOGISTIC/TANH on all 256 int8 inputs: the exact table."""
    from edgernn.export.tflite_builder import ModelBuilder
    from edgernn.runtimes.tflm import make_interpreter

    mb = ModelBuilder(f"{op} table")
    g = mb.subgraph("main")
    x = g.tensor("x", [256], "int8", *in_q)
    y = g.tensor("y", [256], "int8", *out_q)
    g.op(op, [x], [y])
    g.g.inputs, g.g.outputs = [x], [y]
    ip = make_interpreter(mb.to_bytes(), 16 * 1024)
    ip.set_input(np.arange(-128, 128, dtype=np.int8), 0)
    ip.invoke()
    return np.array(ip.get_output(0), dtype=np.int8)


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
    base, loop_region = 0, 0
    for sg in range(len(graph.m.subgraphs)):
        spans = _lifetimes(graph, sg)
        sizes = {t: numel(graph.tensor(sg, t)) * _SIZES.get(graph.tensor(sg, t).type, 4) for t in spans}
        local, size = _place(spans, sizes)
        if sg == 0:
            base = (size + 15) // 16 * 16
        else:
            loop_region = max(loop_region, size)
        for t, o in local.items():
            offsets[(sg, t)] = o if sg == 0 else base + o
    return offsets, base + loop_region


class Emitter:
    def __init__(self, graph: _Graph):
        self.g = graph
        self.consts: list[str] = []
        self.const_names: set[str] = set()
        self.const_bytes = 0
        self.arena_offsets, self.arena_size = plan_arena(graph)
        self.functions: list[str] = []
        self.ops_used: set[str] = set()

    # storage -------------------------------------------------------------------------------
    def ref(self, sg: int, i: int) -> str:
        """C expression for tensor i of subgraph sg (a const array or a place in the arena)."""
        t = self.g.tensor(sg, i)
        ctype = _CTYPES.get(t.type)
        if ctype is None:
            raise UserError(f"tensor {t.name!r} has a type the C generator does not support ({t.type})")
        data = self.g.const(sg, i)
        name = f"t{sg}_{i}"
        if data is not None:
            if name not in self.const_names:  # each constant is emitted once, however often it is read
                self.const_names.add(name)
                self.consts.append(f"static const {ctype} {name}[{data.size}] = {{\n  {c_array(data)}\n}};")
                self.const_bytes += data.nbytes
            return name
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
                raise UserError(f"op {name} is not supported by the C generator yet "
                                "(supported: FULLY_CONNECTED, ADD, SUB, MUL, LOGISTIC, TANH, SOFTMAX, RESHAPE, "
                                "GATHER, SPLIT, LESS, WHILE)")
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
        (s_in, z_in), (s_w, z_w), (s_out, z_out) = (self.g.qparams(sg, x), self.g.qparams(sg, w),
                                                    self.g.qparams(sg, op.outputs[0]))
        if z_w != 0:
            raise UserError("FULLY_CONNECTED with a non-zero weight zero point is not supported")
        p = P.fully_connected(s_in, z_in, s_w, s_out, z_out)
        batches = numel(self.g.tensor(sg, x)) // cols
        # Fold the input zero point into the bias (exact in int32 arithmetic, wrap-around included).
        bias = self.g.const(sg, b).astype(np.int64) if b >= 0 else np.zeros(rows, np.int64)
        folded = bias + p["input_offset"] * self.g.const(sg, w).astype(np.int64).sum(axis=1)
        folded = ((folded + 2**31) % 2**32 - 2**31).astype(np.int32)
        fname = f"bias{sg}_{op.outputs[0]}"
        self.consts.append(f"static const int32_t {fname}[{rows}] = {{\n  {c_array(folded)}\n}};")
        self.const_bytes += folded.nbytes
        return [f"ern_fully_connected_s8({self.ref(sg, x)}, {batches}, {cols}, {self.ref(sg, w)}, {fname}, {rows}, "
                f"{p['multiplier']}, {p['shift']}, {p['output_offset']}, {self.ref(sg, op.outputs[0])});"]

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
        fields = ", ".join(str(p[k]) for k in ("input1_offset", "input2_offset", "output_offset", "input1_multiplier",
                                              "input2_multiplier", "output_multiplier", "input1_shift", "input2_shift",
                                              "output_shift", "left_shift"))
        return ["{", f"  static const ern_add_params p = {{{fields}}};",
                f"  ern_{kind}_s8(&p, {self.ref(sg, a)}, {self.ref(sg, b)}, {self.ref(sg, out)}, {n});", "}"]

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
        tname = f"lut{sg}_{op.outputs[0]}"
        self.consts.append(f"static const int8_t {tname}[256] = {{\n  {c_array(table)}\n}};")
        self.const_bytes += 256
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
        copy = lambda dst_sg, dst, src_sg, src: (  # noqa: E731
            f"memcpy({self.ref(dst_sg, dst)}, {self.ref(src_sg, src)}, {self.nbytes(src_sg, src)});")
        lines = [copy(sg, o, sg, i) for i, o in zip(op.inputs, op.outputs)]  # loop state lives in the outputs
        lines.append("for (;;) {")
        lines += ["  " + copy(cond, ci, sg, o) for ci, o in zip(cg.inputs, op.outputs)]
        lines += [f"  subgraph_{cond}();", f"  if (!{self.ref(cond, cg.outputs[0])}[0]) break;"]
        lines += ["  " + copy(body, bi, sg, o) for bi, o in zip(bg.inputs, op.outputs)]
        lines.append(f"  subgraph_{body}();")
        lines += ["  " + copy(sg, o, body, bo) for bo, o in zip(bg.outputs, op.outputs)]
        lines.append("}")
        return lines


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
        f"/* Generated by edgernn from {model_path.name} (sha256 {hashlib.sha256(model_path.read_bytes()).hexdigest()[:16]}).",
        f" * Ops: {', '.join(sorted(em.ops_used))}. Constants {em.const_bytes} bytes, arena {em.arena_size} bytes. */",
        f'#include <string.h>\n#include "edgernn_rt.h"\n#include "{name}.h"',
        f"static uint8_t arena[{max(em.arena_size, 4)}] __attribute__((aligned(16)));",
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
