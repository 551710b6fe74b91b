"""One bounded parser for every user JSON: the same refusals in io.read_json and the model gate."""
import json

import pytest

from edgernn import io
from edgernn.errors import UserError
from edgernn.json_text import MAX_DEPTH, JsonRefusal, nesting_depth, parse_json_bytes
from edgernn.model_gate import GateRefusal, _parse_json


@pytest.mark.parametrize("body,reason", [
    (b"\xff\xfe{}", "is not UTF-8 text"),
    (b"{\"a\": 1,}", "is not valid JSON (Expecting property name"),
    (b"[" * 200_000 + b"]" * 200_000, "nested too deeply"),
    (b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1), f"nested more than {MAX_DEPTH} levels deep"),
    (b"1" * 5000, "is not valid JSON (Exceeds the limit"),
])
def test_hostile_json_is_refused_with_a_reason(body, reason):
    with pytest.raises(JsonRefusal, match=reason.replace("(", r"\(")):
        parse_json_bytes(body)


def test_constants_refused_only_when_asked():
    assert parse_json_bytes(b'{"loss": NaN}')["loss"] != 0  # a diverged run's history keeps its NaN
    with pytest.raises(JsonRefusal, match="holds NaN, which is not valid JSON"):
        parse_json_bytes(b'{"loss": NaN}', allow_constants=False)


def test_depth_at_the_limit_passes_and_is_counted_iteratively():
    value = json.loads("[" * MAX_DEPTH + "]" * MAX_DEPTH)
    assert parse_json_bytes(json.dumps(value).encode()) == value
    assert nesting_depth({"a": [{"b": 1}]}) == 4


def test_io_and_the_gate_share_the_refusals(tmp_path):
    deep = b"[" * (MAX_DEPTH + 5) + b"]" * (MAX_DEPTH + 5)
    f = tmp_path / "metrics.json"
    f.write_bytes(deep)
    with pytest.raises(UserError, match=r"metrics.json: not valid JSON \(the file is nested more than 32"):
        io.read_json(f)
    with pytest.raises(GateRefusal, match="config.json is nested more than 32 levels deep"):
        _parse_json(tmp_path / "m.keras", "config.json", deep)
    with pytest.raises(GateRefusal, match="config.json holds Infinity"):
        _parse_json(tmp_path / "m.keras", "config.json", b'{"a": Infinity}')
