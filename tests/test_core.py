"""Core plumbing: atomic writes, user errors, CLI error handling."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from edgernn import io
from edgernn.cli import main
from edgernn.errors import UserError
from edgernn.runtimes.base import TensorInfo, dequantize, quantize


def test_atomic_dir_removed_on_interrupt(tmp_path):
    final = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        with io.atomic_dir(final) as tmp:
            (tmp / "model.keras").write_text("half")
            raise KeyboardInterrupt
    assert not final.exists()
    assert list(tmp_path.iterdir()) == []


def test_atomic_dir_refuses_existing_unless_overwrite(tmp_path):
    final = tmp_path / "run"
    with io.atomic_dir(final) as tmp:
        (tmp / "old").write_text("x")
    with pytest.raises(UserError, match="already exists"):
        with io.atomic_dir(final):
            pass
    with io.atomic_dir(final, overwrite=True) as tmp:
        (tmp / "new").write_text("y")
    assert sorted(p.name for p in final.iterdir()) == [io.OWNER_MARK, "new"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # the old copy is gone, nothing else left


def test_write_json_is_atomic_and_readable(tmp_path):
    p = tmp_path / "a" / "m.json"
    io.write_json(p, {"x": 1})
    assert json.loads(p.read_text()) == {"x": 1}
    assert [q.name for q in p.parent.iterdir()] == ["m.json"]
    with pytest.raises(UserError, match="not valid JSON"):
        (tmp_path / "bad.json").write_text("{")
        io.read_json(tmp_path / "bad.json")


def test_quantize_rounds_half_away_from_zero():
    info = TensorInfo(shape=(4,), dtype="int8", scale=1.0, zero_point=0)
    assert quantize([0.5, 1.5, -0.5, 2.5, 300.0], info).tolist() == [1, 2, -1, 3, 127]
    assert dequantize(quantize([1.0], TensorInfo((1,), "int8", 0.5, -3)),
                      TensorInfo((1,), "int8", 0.5, -3)).tolist() == [1.0]


def test_cli_help_lists_commands():
    r = CliRunner().invoke(main, ["--help"])
    assert r.exit_code == 0
    assert "data" in r.output
