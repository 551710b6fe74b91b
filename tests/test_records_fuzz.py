"""Generated, not listed: the seeded CI subset of tools/fuzz_records.py (mutated config.json records).

Every mutated record is either accepted as a RunConfig or refused with a UserError, never another
exception, and an accepted record cannot make detect's pipeline allocate without bound."""
import json
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
import fuzz_records  # noqa: E402

from edgernn.errors import UserError  # noqa: E402
from edgernn.records import validate_config  # noqa: E402


@settings(max_examples=150, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(fuzz_records.mutated_records())
def test_mutated_records_are_accepted_or_refused_cleanly(raw):
    assert fuzz_records.exercise(raw) in ("accepted", "refused")


def test_the_generator_mutates_and_the_campaign_counts():
    """The fuzzer is not vacuous: it refuses most mutants, accepts some, and finds a planted bug."""
    counts = fuzz_records.fuzz(60, seed=3, log=lambda *_: None)
    assert counts["examples"] == 60 and counts["refused"] > 10 and counts["accepted"] > 0
    assert counts["failures"] == 0


def test_exercise_reports_what_is_not_a_user_error(monkeypatch):
    def broken(raw, where):
        raise KeyError("planted")
    monkeypatch.setattr(fuzz_records, "validate_config", broken)
    with pytest.raises(KeyError):
        fuzz_records.exercise({})


@pytest.mark.parametrize("field", sorted(fuzz_records.BASES["kws-gru64"]))
def test_each_top_level_field_dropped_or_retyped(field):
    """Listed as well as generated: every field of a real record, dropped and given the wrong type."""
    base = fuzz_records.BASES["kws-gru64"]
    for value in (fuzz_records._DROP, "text", [1, 2], {"k": 1}, -1, float("nan")):
        raw = json.loads(json.dumps(base))
        if value is fuzz_records._DROP:
            raw.pop(field)
        else:
            raw[field] = value
        try:
            validate_config(raw)
        except UserError:
            pass
