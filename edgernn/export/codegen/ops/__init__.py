"""The op registry: every op the C generator supports, one unit per op family.

Each ``ops/<family>.py`` holds, for its ops, what TensorFlow Lite Micro splits into a kernel's
Prepare and Eval:

- ``contract``: what the op needs of its tensors (operand types, constants, the shape relations its
  kernel relies on), checked on every op of a model before any C is written
  (``edgernn.tflite.validate.check_graph`` runs the contracts this registry holds);
- ``prepare``: the op's integer parameters from the graph, computed exactly as TFLM's Prepare and its
  ``CalculateOpData*`` helpers compute them (shared arithmetic in ``codegen/fixedpoint.py``);
- ``emit``: the C that calls its kernel (``firmware/runtime/ern_<op>_s8.c``) with those parameters in
  its params struct, or inline C for ops that only move bytes;

and names its kernel files and its scratch memory. Only the kernels a model uses are written out with it.

To add an op: write ``ops/<family>.py`` with a contract, a prepare and an emit function decorated
``@register("OP_NAME", contract=..., kernels=...)``, and import the module below.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class OpSpec:
    name: str
    emit: Callable                        # (emitter, subgraph, op) -> lines of C
    contract: Callable                    # (edgernn.tflite.validate.OpCheck) -> None, raises UserError
    kernels: tuple[str, ...] = ()         # runtime C files (without .c) the emitted code calls
    scratch: Callable | None = None       # (graph, subgraph, op) -> bytes of working memory


REGISTRY: dict[str, OpSpec] = {}


def register(*names: str, contract: Callable, kernels: tuple[str, ...] = (), scratch: Callable | None = None):
    def add(fn):
        for name in names:
            if name in REGISTRY:
                raise RuntimeError(f"op {name} registered twice")
            REGISTRY[name] = OpSpec(name, fn, contract, tuple(kernels), scratch)
        return fn
    return add


def contracts() -> dict[str, Callable]:
    """Every op's contract, by op name: what ``check_graph`` holds a model to."""
    return {name: spec.contract for name, spec in REGISTRY.items()}


@dataclass(frozen=True)
class FusionSpec:
    """A pattern of several ops one kernel computes exactly (ops/gru.py): ``match(emitter, subgraph)``
    returns the groups found, each with ``ops`` (indices), ``inputs``, ``output`` and ``scratch`` bytes;
    ``emit(emitter, subgraph, group)`` returns the C that replaces them. Unmatched ops keep their own
    emitters; the fused ops' own contracts have been checked already."""
    name: str
    match: Callable
    emit: Callable
    kernels: tuple[str, ...] = ()


FUSIONS: list[FusionSpec] = []


def register_fusion(name: str, match: Callable, emit: Callable, kernels: tuple[str, ...] = ()) -> None:
    FUSIONS.append(FusionSpec(name, match, emit, tuple(kernels)))


def supported_ops() -> str:
    return ", ".join(sorted(REGISTRY))


from edgernn.export.codegen.ops import (  # noqa: E402,F401  (each module registers its ops)
    activations, control, elementwise, fully_connected, lstm, shape)
from edgernn.export.codegen.ops import broadcast_to, concatenation  # noqa: E402,F401  (its own line: merges stay trivial)
from edgernn.export.codegen.ops import gru  # noqa: E402,F401  (fusions, after the per-op emitters they reuse)
