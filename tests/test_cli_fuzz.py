"""Generated, not listed (issue #30, item 8): hypothesis draws option values for every command (from the
click tree, so new options are covered without being named) and each case must end in exit 0, or exit 2
with one 'edgernn: error:' line: no traceback, no hang, nothing written outside --out. This is the
seeded, fast subset; `python tools/fuzz_cli.py --examples 500` runs thousands (docs/design/hardening-outputs.md)."""
from __future__ import annotations

import itertools

import pytest

from conftest import load_tool
from edgernn.cli import main

fuzz = load_tool("fuzz_cli")
COMMANDS = [name for name, _ in fuzz.commands(main) if name not in fuzz.SKIP]


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzz")
    (root / "out").mkdir()
    return root, fuzz.make_sandbox(root / "in")


def test_every_command_is_fuzzed():
    assert len(COMMANDS) >= 19 and {"train", "bench", "report", "firmware build", "sweep"} <= set(COMMANDS)


@pytest.mark.parametrize("name", COMMANDS)
def test_generated_options_end_in_exit_0_or_one_error_line(name, sandbox, monkeypatch):
    root, paths = sandbox
    monkeypatch.chdir(root / "in" / "folder")  # relative writes would land in the watched sandbox
    cmd = dict(fuzz.commands(main))[name]
    stats = fuzz._fuzz_command(main, name, cmd, paths, root, examples=6, seed=0, hang_seconds=60,
                               counter=itertools.count(COMMANDS.index(name) * 1000))
    assert stats["cases"] == 6
    assert stats["failures"] == [], stats["failures"][:3]
