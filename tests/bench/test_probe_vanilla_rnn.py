"""tools/probe_vanilla_rnn.py refuses what it cannot use with one error line and exit 2, before any training."""
from __future__ import annotations

import sys

import numpy as np
import pytest

from tests.conftest import load_tool


@pytest.mark.parametrize("case", ["no cache", "foreign npz", "not an npz", "unknown variant"])
def test_bad_input_is_one_error_line(case, tmp_path, monkeypatch, capsys):
    probe = load_tool("probe_vanilla_rnn")
    np.savez(tmp_path / "foreign.npz", a=np.zeros(3))
    (tmp_path / "junk.npz").write_text("junk")
    args = {"no cache": [], "foreign npz": ["--cache", str(tmp_path / "foreign.npz")],
            "not an npz": ["--cache", str(tmp_path / "junk.npz")],
            "unknown variant": ["--variants", "rnn,nope"]}[case]
    monkeypatch.setattr(sys, "argv", ["probe_vanilla_rnn.py", str(tmp_path), *args])
    assert probe.main() == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("edgernn: error:"), err
