"""Crafted models: the CI subset of tools/fuzz_tflite.py (the full campaign is 300 mutants per model).

Seeded byte-level mutants of an int8 GRU and an int8 LSTM through `edgernn export --format c` in a
child with a timeout: each is refused cleanly or exported, and every exported mutant's C runs under
AddressSanitizer and UndefinedBehaviorSanitizer without a report.
"""
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from edgernn import api

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
import fuzz_tflite  # noqa: E402

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc with the sanitizers")


@pytest.fixture(scope="module")
def int8_models(tiny_runs, tmp_path_factory):
    d = tmp_path_factory.mktemp("fuzz")
    return [api.quantize(tiny_runs[a], mode="int8", calibration_samples=40, out=d / f"{a}.tflite") for a in ("gru", "lstm")]


def test_mutation_is_seeded_and_changes_the_file(int8_models):
    data = int8_models[0].read_bytes()
    a = [fuzz_tflite.mutate(data, np.random.default_rng(7)) for _ in range(1)]
    b = [fuzz_tflite.mutate(data, np.random.default_rng(7)) for _ in range(1)]
    assert a == b and a[0] != data and len(a[0]) == len(data)


def test_mutants_are_refused_cleanly_or_exported_and_sanitizer_clean(int8_models):
    r = fuzz_tflite.fuzz(int8_models, mutants=12, seed=2024, inputs=3, log=lambda *_: None)
    t = r["totals"]
    assert t["tried"] == 24
    assert r["failures"] == [], r["failures"][:3]
    assert t.get("refused", 0) + t.get("exported", 0) == 24
    assert t.get("refused", 0) > 0 and t.get("exported", 0) > 0  # both outcomes are exercised
    assert t.get("exported", 0) == t.get("clean", 0) + t.get("run-error", 0)  # every export compiled and ran


def test_the_sanitizer_run_reports_an_out_of_bounds_write(int8_models, tmp_path):
    """The harness would see an overflow: a planted one in the generated C is reported."""
    out = tmp_path / "c"
    api.export(int8_models[0], format="c", out=out)
    source = (out / "model.c").read_text()
    (out / "model.c").write_text(source.replace("  return ERN_OK;\n}\n",
                                                "  arena[sizeof arena] = 1;\n  return ERN_OK;\n}\n", 1))
    kind, detail = fuzz_tflite.sanitizer_run(out, 1, 60, tmp_path)
    assert kind == "sanitizer" and ("overflow" in detail or "out of bounds" in detail)
