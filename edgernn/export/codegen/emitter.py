"""Walk a checked graph and emit C: one function per subgraph, each op through its registered emitter.

The emitter owns what every op shares: constants (emitted once, 4-byte aligned), C expressions
for tensors (a const array or a place in the arena), each op's scratch memory, and the range
checks on requantization parameters. What an op does is in its module under ``ops/``.
"""
from __future__ import annotations

import numpy as np

from edgernn.errors import UserError
from edgernn.export.codegen.ops import FUSIONS, REGISTRY, supported_ops
from edgernn.export.codegen.planner import SCRATCH, plan_arena
from edgernn.tflite.types import TYPES, type_name

_C_SIZES = {"int8_t": 1, "uint8_t": 1, "int16_t": 2, "uint16_t": 2}


def c_array(values: np.ndarray, per_line: int = 16) -> str:
    flat = [str(int(v)) for v in np.asarray(values).ravel()]
    return ",\n  ".join(", ".join(flat[i:i + per_line]) for i in range(0, len(flat), per_line))


def pad4(n: int) -> int:
    return (n + 3) // 4 * 4


def pack_weights(w: np.ndarray) -> np.ndarray:
    """[rows][cols] int8 -> the kernels' layout: rows in blocks of 4, columns in groups of 4, zero-padded;
    block b, group g holds 4 bytes of each of rows 4b..4b+3 in turn."""
    rows, cols = w.shape
    padded = np.zeros((pad4(rows), pad4(cols)), np.int8)
    padded[:rows, :cols] = w
    return padded.reshape(pad4(rows) // 4, 4, pad4(cols) // 4, 4).transpose(0, 2, 1, 3).reshape(-1)


def pack_row_blocks(w: np.ndarray) -> np.ndarray:
    """The Helium kernels' layout (ERN_ROW_BLOCKS): the same padded blocks of 4 rows, each row whole in turn."""
    rows, cols = w.shape
    padded = np.zeros((pad4(rows), pad4(cols)), np.int8)
    padded[:rows, :cols] = w
    return padded.reshape(-1)


def pack_pairs(w: np.ndarray) -> np.ndarray:
    """The DSP kernels' paired-row layout (ERN_PAIR_ROWS, docs/design/paired-rows.md): blocks of 4 rows, in each
    rows (0, 1) and (2, 3) as pairs (P, Q) sharing halfwords 256 P[c] + Q[c] (little-endian: byte Q[c], then
    P[c] - [Q[c] < 0]); columns padded to even, in groups of 4 (pair 0 columns 0-1, pair 0 columns 2-3, pair 1
    columns 0-1, pair 1 columns 2-3), then a half group of the last 2 columns if their number of pairs is odd.
    The caller checks the halfwords fit int16 (fixedpoint.pair_rows_fit)."""
    rows, cols = w.shape
    c2 = cols + (cols & 1)
    padded = np.zeros((pad4(rows), c2), np.int64)
    padded[:rows, :cols] = w
    blocks = padded.reshape(-1, 2, 2, c2)                    # block, pair, (P, Q), column
    half = 256 * blocks[:, :, 0, :] + blocks[:, :, 1, :]     # block, pair, column
    nb, groups = half.shape[0], c2 // 4
    full = half[:, :, :4 * groups].reshape(nb, 2, groups, 2, 2).transpose(0, 2, 1, 3, 4).reshape(nb, -1)
    tail = half[:, :, 4 * groups:].reshape(nb, -1)           # pair 0 (c, c+1), pair 1 (c, c+1)
    halves = np.concatenate([full, tail], axis=1).reshape(-1)
    assert halves.min(initial=0) >= -2**15 and halves.max(initial=0) < 2**15, "paired halfword out of int16"
    return halves.astype("<i2").view(np.int8)


def unpack_pairs(packed: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """pack_pairs read back (for tests and the documentation): [rows][cols] int8."""
    c2 = cols + (cols & 1)
    halves = np.asarray(packed, np.int8).view("<i2").astype(np.int64).reshape(pad4(rows) // 4, -1)
    nb, groups = halves.shape[0], c2 // 4
    full = halves[:, :8 * groups].reshape(nb, groups, 2, 2, 2).transpose(0, 2, 1, 3, 4).reshape(nb, 2, 4 * groups)
    tail = halves[:, 8 * groups:].reshape(nb, 2, c2 - 4 * groups)
    half = np.concatenate([full, tail], axis=2)               # block, pair, column
    q = (half + 128) % 256 - 128                             # the low byte, signed
    p = (half - q) // 256
    out = np.stack([p, q], axis=2).reshape(pad4(rows), c2)
    return out[:rows, :cols].astype(np.int8)


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
