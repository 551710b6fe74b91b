"""The op registry: every op the C generator supports, its emitter, its runtime kernel files and
its scratch memory. One module per op family, each naming the C kernels it calls
(``firmware/runtime/ern_<op>_s8.c``); only the kernels a model uses are written out with it.

To add an op: write ``ops/<family>.py`` with a function decorated ``@register("OP_NAME", kernels=...)``
and import the module below.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class OpSpec:
    name: str
    emit: Callable                        # (emitter, subgraph, op) -> lines of C
    kernels: tuple[str, ...] = ()         # runtime C files (without .c) the emitted code calls
    scratch: Callable | None = None       # (graph, subgraph, op) -> bytes of working memory


REGISTRY: dict[str, OpSpec] = {}


def register(*names: str, kernels: tuple[str, ...] = (), scratch: Callable | None = None):
    def add(fn):
        for name in names:
            if name in REGISTRY:
                raise RuntimeError(f"op {name} registered twice")
            REGISTRY[name] = OpSpec(name, fn, tuple(kernels), scratch)
        return fn
    return add


@dataclass(frozen=True)
class FusionSpec:
    """A pattern of several ops one kernel computes exactly (ops/gru.py): ``match(emitter, subgraph)``
    returns the groups found, each with ``ops`` (indices), ``inputs``, ``output`` and ``scratch`` bytes;
    ``emit(emitter, subgraph, group)`` returns the C that replaces them. Unmatched ops keep their own emitters."""
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
