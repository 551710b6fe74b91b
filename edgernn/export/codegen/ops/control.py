"""WHILE -> a C loop over the cond and body subgraph functions; loop state lives in the WHILE outputs."""
from __future__ import annotations

from edgernn.export.codegen.ops import register
from edgernn.tflite.types import BOOL
from edgernn.tflite.validate import OpCheck


def contract(c: OpCheck) -> None:
    o = c.op.builtinOptions
    c.need(o is not None and hasattr(o, "condSubgraphIndex"), "no cond/body options")
    cond, body = c.g.subgraphs[o.condSubgraphIndex], c.g.subgraphs[o.bodySubgraphIndex]
    n = len(c.inputs)
    c.need(n == len(c.outputs) == len(cond.inputs) == len(body.inputs) == len(body.outputs) and n > 0,
           "WHILE, cond and body must have as many loop values each")
    c.need(o.condSubgraphIndex != o.bodySubgraphIndex, "cond and body are the same subgraph")
    for j in range(n):
        pairs = [(c.sg, c.inputs[j]), (c.sg, c.outputs[j]), (o.condSubgraphIndex, int(cond.inputs[j])),
                 (o.bodySubgraphIndex, int(body.inputs[j])), (o.bodySubgraphIndex, int(body.outputs[j]))]
        kinds = {(c.g.type(s, t), c.g.numel(s, t)) for s, t in pairs}
        c.need(c.inputs[j] >= 0 and len(kinds) == 1, f"loop value {j} differs in type or size between WHILE, cond "
                                                     "and body")
    c.need(len(cond.outputs) == 1 and c.g.type(o.condSubgraphIndex, int(cond.outputs[0])) == BOOL
           and c.g.numel(o.condSubgraphIndex, int(cond.outputs[0])) >= 1, "cond must output one bool")


@register("WHILE", contract=contract)
def emit_while(em, sg, op):
    cond, body = op.builtinOptions.condSubgraphIndex, op.builtinOptions.bodySubgraphIndex
    em.subgraph(cond)
    em.subgraph(body)
    cg, bg = em.g.subgraphs[cond], em.g.subgraphs[body]
    ins, outs = [int(t) for t in op.inputs], [int(t) for t in op.outputs]

    def copy(dst_sg, dst, src_sg, src):
        if em.ref(dst_sg, dst) == em.ref(src_sg, src):  # an aliased passthrough: already in place
            return "/* in place */"
        return f"memcpy({em.ref(dst_sg, dst)}, {em.ref(src_sg, src)}, {em.nbytes(src_sg, src)});"

    # Copies are skipped where nothing reads them: cond inputs its ops never use (the GRU's cond
    # reads only the counter), and body outputs that are the body's own input passed through (the
    # state already holds that value). A step limit turns a loop that never ends into an error.
    cond_reads = {int(t) for o in cg.operators or [] for t in o.inputs} | {int(t) for t in cg.outputs}
    lines = [copy(sg, o, sg, i) for i, o in zip(ins, outs)]
    lines.append("for (long step = 0;; ++step) {")
    lines.append("  if (step >= ERN_MAX_LOOP_STEPS) return ERN_ERROR_LOOP_LIMIT;")
    lines += ["  " + copy(cond, int(ci), sg, o) for ci, o in zip(cg.inputs, outs) if int(ci) in cond_reads]
    lines += [f"  {{ int status = subgraph_{cond}(); if (status) return status; }}",
              f"  if (!{em.ref(cond, int(cg.outputs[0]))}[0]) break;"]
    lines += ["  " + copy(body, int(bi), sg, o) for bi, o in zip(bg.inputs, outs)]
    lines.append(f"  {{ int status = subgraph_{body}(); if (status) return status; }}")
    lines += ["  " + copy(sg, o, body, int(bo)) for bo, bi, o in zip(bg.outputs, bg.inputs, outs) if bo != bi]
    lines.append("}")
    return lines
