"""The arena planner on its own: placement, the independent plan check, scratch sizes vs the C macros."""
import subprocess
import types

import pytest

from edgernn.errors import UserError
from edgernn.export.codegen import runtime_dir
from edgernn.export.codegen.ops import fully_connected, lstm
from edgernn.export.codegen.planner import Plan, check_plan, place


def test_buffers_live_together_never_overlap_and_dead_ones_are_reused():
    spans = {0: [-1, 0], 1: [0, 1], 2: [1, 2], 3: [2, 3], 4: [0, 3]}
    sizes = {0: 40, 1: 12, 2: 40, 3: 6, 4: 8}
    offsets, top = place(spans, sizes)
    for a in spans:
        assert offsets[a] % 4 == 0 and offsets[a] + sizes[a] <= top
        for b in spans:
            live_together = a != b and spans[a][0] <= spans[b][1] and spans[b][0] <= spans[a][1]
            if live_together:
                assert offsets[a] + sizes[a] <= offsets[b] or offsets[b] + sizes[b] <= offsets[a], (a, b)
    assert offsets[0] == offsets[2]  # the first 40-byte buffer is dead before the second is born
    assert top < sum(sizes.values())


def _plan(offsets, sizes, spans, size):
    """A main-subgraph-only plan."""
    return Plan(offsets={(0, t): o for t, o in offsets.items()}, size=size, loop_base=size,
                spans={(0, t): spans[t] for t in offsets}, sizes={(0, t): sizes[t] for t in offsets})


def test_plan_check_catches_overlap_overflow_and_misalignment():
    spans, sizes = {0: [0, 1], 1: [1, 2]}, {0: 8, 1: 8}
    check_plan(_plan({0: 0, 1: 8}, sizes, spans, 16))
    with pytest.raises(UserError, match="overlaps"):
        check_plan(_plan({0: 0, 1: 4}, sizes, spans, 16))
    with pytest.raises(UserError, match="outside"):
        check_plan(_plan({0: 0, 1: 12}, sizes, spans, 16))
    with pytest.raises(UserError, match="outside"):
        check_plan(_plan({0: 2, 1: 8}, sizes, spans, 16))
    check_plan(_plan({0: 0, 1: 4}, sizes, {0: [0, 0], 1: [1, 2]}, 16))  # not live together: may share


def _fake_graph(shapes: dict):
    """Just enough of a Graph for the scratch functions: named operands and their shapes."""
    ns = types.SimpleNamespace(**{k: i for i, k in enumerate(shapes)})
    return types.SimpleNamespace(operands=lambda op: ns, shape=lambda sg, i: list(shapes.values())[i])


@pytest.mark.parametrize("n_input, n_state", [(1, 1), (4, 7), (10, 64), (13, 33)])
def test_scratch_sizes_match_the_runtime_macros(tmp_path, n_input, n_state):
    prog = tmp_path / "s.c"
    prog.write_text('#include <stdio.h>\n#include "ern_fully_connected_s8.h"\n#include "ern_lstm_s8.h"\n'
                    f"int main(void) {{ printf(\"%d %d\", ERN_FULLY_CONNECTED_S8_SCRATCH_BYTES({n_input}), "
                    f"ERN_LSTM_S8_SCRATCH_BYTES({n_input}, {n_state})); return 0; }}\n")
    subprocess.run(["gcc", "-std=c99", "-I", str(runtime_dir()), "-o", str(tmp_path / "s"), str(prog)], check=True)
    fc_c, lstm_c = map(int, subprocess.run([str(tmp_path / "s")], capture_output=True, text=True).stdout.split())
    fc_py = fully_connected.scratch_bytes(_fake_graph({"input": [1, n_input], "weights": [n_state, n_input]}), 0, None)
    lstm_py = lstm.scratch_bytes(_fake_graph({"input": [1, 5, n_input], "output_state": [1, n_state]}), 0, None)
    assert (fc_py, lstm_py) == (fc_c, lstm_c)
