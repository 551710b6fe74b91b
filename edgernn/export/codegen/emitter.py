"""Walk a checked graph and emit C: one function per subgraph, each op through its registered emitter.

The emitter owns what every op shares: constants (emitted once, 4-byte aligned), C expressions
for tensors (a const array or a place in the arena), each op's scratch memory, and the range
checks on requantization parameters. What an op does is in its module under ``ops/``.
"""
from __future__ import annotations

import numpy as np

from edgernn.errors import UserError
from edgernn.export.codegen.ops import FUSIONS, REGISTRY, supported_ops
from edgernn.export.codegen.layout import pack_pairs, pack_row_blocks, pack_weights, pad4, pair_stream, unpack_pairs  # noqa: F401
from edgernn.export.codegen.planner import SCRATCH, plan_arena
from edgernn.tflite.types import TYPES, type_name

_C_SIZES = {"int8_t": 1, "uint8_t": 1, "int16_t": 2, "uint16_t": 2}


def c_array(values: np.ndarray, per_line: int = 16) -> str:
    flat = [str(int(v)) for v in np.asarray(values).ravel()]
    return ",\n  ".join(", ".join(flat[i:i + per_line]) for i in range(0, len(flat), per_line))


def op_spec(graph, op):
    name = graph.op_name(op)
    spec = REGISTRY.get(name)
    if spec is None:
        raise UserError(f"op {name} is not supported by the C generator yet (supported: {supported_ops()})")
    return spec


class Emitter:
    def __init__(self, graph):
        self.g = graph
        self.consts: list[str] = []
        self.const_names: set[str] = set()
        self.const_aliases: dict[str, str] = {}         # name -> the identical array emitted first
        self.const_by_content: dict[tuple, str] = {}
        self.const_bytes = 0
        for sg in range(len(graph.subgraphs)):  # every op supported before any work
            for op in graph.ops(sg):
                op_spec(graph, op)
        self.flags: dict[str, int] = {}       # kernel variant macros edgernn_rt.c defines (bits OR-ed over ops)
        self.fused: dict[tuple[int, int], tuple] = {}  # (subgraph, op index) -> (fusion spec, group)
        for sg in range(len(graph.subgraphs)):
            for spec in FUSIONS:
                for group in spec.match(self, sg):
                    if not any((sg, k) in self.fused for k in group.ops):
                        self.fused.update({(sg, k): (spec, group) for k in group.ops})
        self.plan = plan_arena(graph, self.scratch_bytes, self.fused_spans)
        self.arena_size = self.plan.size
        self.functions: dict[int, str] = {}   # subgraph -> its C function
        self.order: list[int] = []            # callees before callers
        self.ops_used: set[str] = set()
        self.kernels: list[str] = []          # runtime C files the emitted code calls, in first-use order
        self.sg, self.op_index = 0, 0         # subgraph and index of the op being emitted, for its scratch memory

    def scratch_bytes(self, sg: int, k: int, op) -> int:
        if (sg, k) in self.fused:  # a fused group's scratch belongs to its last op (where its call is emitted)
            group = self.fused[(sg, k)][1]
            return group.scratch if k == group.ops[-1] else 0
        spec = op_spec(self.g, op)
        return spec.scratch(self.g, sg, op) if spec.scratch else 0

    def fused_spans(self, sg: int) -> list[tuple[int, int, int]]:
        """Lifetimes a fused call needs beyond its ops' own: it runs at its last op, reading its inputs and
        its scratch from the group's first op on, so those stay live (and unshared) over the whole group."""
        spans = []
        for (s, k), (_, group) in self.fused.items():
            if s == sg and k == group.ops[-1]:
                first, last = group.ops[0], group.ops[-1]
                spans += [(SCRATCH + last, first, last)] + [(t, first, last) for t in group.inputs]
        return spans

    def const_array(self, ctype: str, name: str, values) -> str:
        """Emit a const array once, however often it is used (model constants, packed weights, folded
        biases, tables); returns its name. 4-byte aligned: the DSP kernels load weights a word (or
        two) at a time. ``values`` may be a callable, evaluated only on first use. Arrays with the same
        contents are stored once (two ADDs with the same input quantization share one 1 KB table)."""
        if name in self.const_aliases:
            return self.const_aliases[name]
        if name not in self.const_names:
            values = np.asarray(values() if callable(values) else values)
            key = (ctype, values.size, np.ascontiguousarray(values, dtype=np.int64).tobytes())
            if key in self.const_by_content:
                self.const_aliases[name] = self.const_by_content[key]
                return self.const_aliases[name]
            self.const_by_content[key] = name
            self.const_names.add(name)
            self.consts.append(f"static const {ctype} {name}[{max(values.size, 1)}] ERN_ALIGN(4) = {{\n  "
                               f"{c_array(values) if values.size else '0'}\n}};")
            self.const_bytes += values.size * _C_SIZES.get(ctype, 4)
        return name

    def const_struct(self, ctype: str, name: str, fields: dict) -> str:
        """A params struct, filled by C99 designated initializers (field names, never positions)."""
        if name not in self.const_names:
            self.const_names.add(name)
            body = ",\n  ".join(f".{k} = {v}" for k, v in fields.items())
            self.consts.append(f"static const {ctype} {name} = {{\n  {body}\n}};")
        return name

    def flag(self, name: str, bits: int) -> None:
        """Ask for kernel variants: ``#define name`` in edgernn_rt.c, OR-ed over every op that asks, so a
        kernel compiles only the code paths this model reaches (each kernel's header has the defaults)."""
        self.flags[name] = self.flags.get(name, 0) | int(bits)

    def use_kernels(self, *files: str) -> None:
        for f in files:
            if f not in self.kernels:
                self.kernels.append(f)

    # storage -------------------------------------------------------------------------------
    def layout_array(self, ctype: str, name: str, variants: list[tuple[str, np.ndarray]]) -> str:
        """A const array whose contents depend on the build's layout: ``variants`` are (preprocessor condition,
        values), tried in order (``#if`` / ``#elif``); a build none matches has no such array."""
        if name in self.const_aliases:
            return self.const_aliases[name]
        if name not in self.const_names:
            key = ("layout", ctype, tuple((cond, np.ascontiguousarray(v, dtype=np.int64).tobytes()) for cond, v in variants))
            if key in self.const_by_content:  # the same contents under the same conditions: stored once
                self.const_aliases[name] = self.const_by_content[key]
                return self.const_aliases[name]
            self.const_by_content[key] = name
            self.const_names.add(name)
            parts = []
            for k, (cond, values) in enumerate(variants):
                values = np.asarray(values)
                parts.append(f"#{'if' if k == 0 else 'elif'} {cond}\nstatic const {ctype} {name}[{max(values.size, 1)}] "
                             f"ERN_ALIGN(4) = {{\n  {c_array(values) if values.size else '0'}\n}};")
            self.consts.append("\n".join(parts) + "\n#endif")
            self.const_bytes += max(np.asarray(v).size for _, v in variants) * _C_SIZES.get(ctype, 4)
        return name

    def packed(self, sg: int, i: int, pair_rows: bool = False) -> str:
        """A weight matrix in the kernels' packed layout: every layout, the compiler keeps the one its
        kernels read (ERN_ROW_BLOCKS: Helium; ERN_PAIR_ROWS with ``pair_rows``: the DSP kernels' paired rows,
        which the op chose at export with fixedpoint.pair_rows_fit and flags in its params), so one model.c
        serves every core."""
        name = f"w{sg}_{i}{'p' if pair_rows else ''}"
        if name not in self.const_names:
            self.const_names.add(name)
            w = self.g.const(sg, i)
            plain, rows = pack_weights(w), pack_row_blocks(w)
            decl = lambda a: f"static const int8_t {name}[{a.size}] ERN_ALIGN(4) = {{\n  {c_array(a)}\n}};\n"  # noqa: E731
            paired = f"#elif defined(ERN_PAIR_ROWS)\n{decl(pack_pairs(w))}" if pair_rows else ""
            self.consts.append(f"#if defined(ERN_ROW_BLOCKS)\n{decl(rows)}{paired}#else\n{decl(plain)}#endif")
            self.const_bytes += plain.size
        return name

    def unpaired(self, sg: int, i: int) -> str:
        """A weight matrix for builds without ERN_PAIR_ROWS only (an op that reads it from a paired stream there)."""
        name = f"w{sg}_{i}u"
        w = self.g.const(sg, i)
        return self.layout_array("int8_t", name, [("defined(ERN_ROW_BLOCKS)", pack_row_blocks(w)),
                                                  ("!defined(ERN_PAIR_ROWS)", pack_weights(w))])

    def scratch(self) -> str:
        """This op's working memory in the arena."""
        return f"(arena + {self.plan.offsets[(self.sg, SCRATCH + self.op_index)]})"

    def ctype(self, sg: int, i: int) -> str:
        t = TYPES.get(self.g.type(sg, i))
        if t is None or t.ctype is None:
            raise UserError(f"tensor {self.g.name(sg, i)!r} has a type the C generator does not support "
                            f"({type_name(self.g.type(sg, i))})")
        return t.ctype

    def ref(self, sg: int, i: int) -> str:
        """C expression for tensor i of subgraph sg (a const array or a place in the arena)."""
        ctype = self.ctype(sg, i)
        data = self.g.const(sg, i)
        if data is not None:
            return self.const_array(ctype, f"t{sg}_{i}", data)
        return f"(({ctype} *)(arena + {self.plan.offsets[(sg, i)]}))"

    def nbytes(self, sg: int, i: int) -> int:
        return self.g.nbytes(sg, i)

    def numel(self, sg: int, i: int) -> int:
        return self.g.numel(sg, i)

    # parameters ----------------------------------------------------------------------------
    @staticmethod
    def requant_struct(multiplier: int | None = None, shift: int | None = None, zero_point: int | None = None,
                       round_: int | None = None) -> str:
        """An ``ern_requant`` initializer (the one requantization struct of every kernel); fields not given stay 0."""
        fields = {"multiplier": multiplier, "shift": shift, "zero_point": zero_point, "round": round_}
        return "{" + ", ".join(f".{k} = {v}" for k, v in fields.items() if v is not None) + "}"

    # subgraphs -----------------------------------------------------------------------------
    def subgraph(self, sg: int) -> None:
        """Emit subgraph ``sg`` (and, first, every subgraph it calls) as ``static int subgraph_<sg>(void)``."""
        if sg in self.functions:
            return
        self.functions[sg] = ""  # in progress (the reader has refused recursion)
        lines = [f"static int subgraph_{sg}(void) {{"]
        for k, op in enumerate(self.g.ops(sg)):
            if (sg, k) in self.fused:
                fusion, group = self.fused[(sg, k)]
                if k != group.ops[-1]:
                    lines.append(f"  /* {k}: {self.g.op_name(op)}, in the fused {fusion.name} call below */")
                    continue
                self.ops_used.add(fusion.name)
                self.use_kernels(*fusion.kernels)
                self.op_index, self.sg = k, sg
                lines.append(f"  /* {k}: {fusion.name} (ops {', '.join(map(str, group.ops))}) */")
                lines += ["  " + line for line in fusion.emit(self, sg, group)]
                continue
            spec = op_spec(self.g, op)
            self.ops_used.add(spec.name)
            self.use_kernels(*spec.kernels)
            self.op_index, self.sg = k, sg
            body = spec.emit(self, sg, op)
            lines.append(f"  /* {k}: {spec.name} */")
            lines += ["  " + line for line in body]
        lines += ["  return ERN_OK;", "}"]
        self.functions[sg] = "\n".join(lines)
        self.order.append(sg)
