"""The static arena: where every activation (and every op's scratch memory) lives.

Like TensorFlow Lite Micro's greedy memory planner: each buffer is live from the first op that
touches it to the last, and buffers live at the same time never overlap. ``plan_arena`` places
them; ``check_plan`` re-checks a finished plan independently (inside the arena, aligned, no two
live buffers overlapping), so a planner bug or a crafted model cannot turn into overlapping writes.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from edgernn.errors import UserError

SCRATCH = 1 << 20  # buffer keys SCRATCH + k: working memory of op k (not a tensor of the model)
MAX_ARENA_BYTES = 64 << 20


@dataclass
class Plan:
    offsets: dict = field(default_factory=dict)   # (subgraph, buffer key) -> byte offset
    size: int = 0
    spans: dict = field(default_factory=dict)     # (subgraph, buffer key) -> [first op, last op]
    sizes: dict = field(default_factory=dict)     # (subgraph, buffer key) -> bytes
    loop_base: int = 0                            # where the loop subgraphs' shared region starts


def align(n: int, to: int = 4) -> int:
    return (n + to - 1) // to * to


def lifetimes(graph, sg: int, scratch_bytes, extend=None) -> dict[int, list[int]]:
    """[first, last] op index at which each activation of subgraph ``sg`` is live.

    Subgraph inputs are live from before the first op (-1), outputs until after the last (n).
    An op's inputs and outputs overlap at its index, so an output never shares memory with an
    input of the same op (the kernels do not work in place). ``extend(sg)``: (buffer key, first, last)
    spans to widen live buffers by (a fused call reads its inputs and scratch over several op indices).
    """
    g = graph.subgraphs[sg]
    ops = graph.ops(sg)
    life: dict[int, list[int]] = {}

    def touch(t: int, k: int) -> None:
        if t < 0 or graph.is_const(sg, t):
            return
        span = life.setdefault(t, [k, k])
        span[0], span[1] = min(span[0], k), max(span[1], k)

    for t in g.inputs:
        touch(int(t), -1)
    for k, op in enumerate(ops):
        for t in list(op.inputs) + list(op.outputs):
            touch(int(t), k)
        if scratch_bytes(sg, k, op):
            life[SCRATCH + k] = [k, k]
    for t in g.outputs:
        touch(int(t), len(ops))
    for key, first, last in (extend(sg) if extend else ()):
        if key in life:
            life[key] = [min(life[key][0], first), max(life[key][1], last)]
    return life


def place(spans: dict[int, list[int]], sizes: dict[int, int]) -> tuple[dict[int, int], int]:
    """Greedy first-fit: biggest buffers first, lowest 4-aligned offset clear of every buffer live at the same time."""
    placed: list[tuple[int, int, int, int]] = []  # (offset, end offset, first, last)
    offsets, top = {}, 0
    for t in sorted(spans, key=lambda t: (-sizes[t], t)):
        first, last = spans[t]
        clashes = sorted((o, e) for o, e, f, l in placed if f <= last and first <= l)
        offset = 0
        for o, e in clashes:
            if offset + sizes[t] <= o:
                break
            offset = max(offset, align(e))
        offsets[t] = offset
        placed.append((offset, offset + sizes[t], first, last))
        top = max(top, offset + sizes[t])
    return offsets, top


def passthrough_aliases(graph) -> dict[tuple[int, int], tuple[int, int]]:
    """WHILE body inputs that the body passes through unchanged (the GRU's input sequence): they are
    read straight from the loop state, so they need no arena of their own and no copy per step."""
    aliases = {}
    for sg in range(len(graph.subgraphs)):
        for op in graph.ops(sg):
            if graph.op_name(op) != "WHILE":
                continue
            body_sg = op.builtinOptions.bodySubgraphIndex
            body = graph.subgraphs[body_sg]
            for bi, bo, out in zip(body.inputs, body.outputs, op.outputs):
                if bi == bo:
                    aliases[(body_sg, int(bi))] = (sg, int(out))
    return aliases


def plan_arena(graph, scratch_bytes, extend=None) -> Plan:
    """Offsets of every activation in one static arena, reused across lifetimes.

    The main subgraph gets the bottom of the arena. Loop subgraphs (WHILE cond and body) run only
    inside the WHILE op, never at the same time as each other, so they share one region above it.
    ``scratch_bytes(sg, k, op)``: working memory op k needs beyond its tensors (0: none).
    """
    plan = Plan()
    aliases = passthrough_aliases(graph)
    loop_region = 0
    for sg in range(len(graph.subgraphs)):
        spans = {t: span for t, span in lifetimes(graph, sg, scratch_bytes, extend).items() if (sg, t) not in aliases}
        ops = graph.ops(sg)
        sizes = {t: scratch_bytes(sg, t - SCRATCH, ops[t - SCRATCH]) if t >= SCRATCH else graph.nbytes(sg, t)
                 for t in spans}
        local, size = place(spans, sizes)
        if sg == 0:
            plan.loop_base = align(size, 16)
        else:
            loop_region = max(loop_region, size)
        for t, o in local.items():
            key = (sg, t)
            plan.offsets[key] = o if sg == 0 else plan.loop_base + o
            plan.spans[key], plan.sizes[key] = spans[t], sizes[t]
    for key, target in aliases.items():
        plan.offsets[key] = plan.offsets[target]
    plan.size = plan.loop_base + loop_region
    if plan.size > MAX_ARENA_BYTES:
        raise UserError(f"the model needs a {plan.size}-byte arena (limit {MAX_ARENA_BYTES})")
    check_plan(plan)
    return plan


def check_plan(plan: Plan) -> None:
    """Independent check: every buffer inside the arena and 4-aligned; no two buffers of a subgraph that
    are live at the same time overlap; main-subgraph buffers stay below the loop region."""
    by_sg: dict[int, list] = {}
    for (sg, t), o in plan.offsets.items():
        if (sg, t) not in plan.sizes:
            continue  # an alias: checked through its target
        size = plan.sizes[(sg, t)]
        if o < 0 or o % 4 or o + size > plan.size or (sg == 0 and o + size > plan.loop_base) or (
                sg > 0 and o < plan.loop_base):
            raise UserError(f"internal error: arena plan puts buffer {t} of subgraph {sg} at {o}+{size} "
                            f"outside its region (arena {plan.size})")
        by_sg.setdefault(sg, []).append((o, o + size, *plan.spans[(sg, t)], t))
    for sg, items in by_sg.items():
        for i, (o1, e1, f1, l1, t1) in enumerate(items):
            for o2, e2, f2, l2, t2 in items[i + 1:]:
                if o1 < e2 and o2 < e1 and f1 <= l2 and f2 <= l1:
                    raise UserError(f"internal error: arena plan overlaps buffers {t1} and {t2} of subgraph {sg}")
