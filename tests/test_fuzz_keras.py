"""Mutated .keras configs: the CI subset of tools/fuzz_keras.py (the full campaign runs thousands).

Seeded mutants of the shipped models' configs and archives go through edgernn.io.load_keras_model (the
model gate, then tf_keras) in a worker with a timeout: each is refused in one UserError or loads; none
raises anything else, hangs, or runs code (the pydoc payload and a planted, importable module both
write a marker file if anything acts on them).
"""
import json
import sys
import zipfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
import fuzz_keras  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MODELS = sorted((ROOT / "models").glob("*/model.keras"))


def test_mutation_is_seeded_and_changes_the_config(tmp_path):
    with zipfile.ZipFile(MODELS[0]) as z:
        model = {n: z.read(n) for n in z.namelist()}
    a = fuzz_keras.make_case(model, np.random.default_rng(7), tmp_path / "m")
    b = fuzz_keras.make_case(model, np.random.default_rng(7), tmp_path / "m")
    assert a == b
    configs = {fuzz_keras.make_case(model, np.random.default_rng(s), tmp_path / "m") for s in range(20)}
    assert len(configs) >= 15  # a mutation can miss (a class name set on a list), never most of them


def test_the_planted_module_would_show_code_running(tmp_path, monkeypatch):
    """The detector is real: importing the plant and calling it writes the marker the fuzzer checks."""
    (tmp_path / f"{fuzz_keras.PLANT}.py").write_text(fuzz_keras.PLANT_SOURCE)
    monkeypatch.setenv("FUZZ_KERAS_MARKER", str(tmp_path / "ran"))
    monkeypatch.syspath_prepend(str(tmp_path))
    __import__(fuzz_keras.PLANT).run(1)
    assert (tmp_path / "ran").read_text() == "called"
    sys.modules.pop(fuzz_keras.PLANT, None)


def test_mutants_are_refused_or_loaded_and_never_run_code():
    r = fuzz_keras.fuzz(MODELS, cases=120, seed=2026, timeout=60, log=None)
    t = r["totals"]
    assert r["failures"] == [], r["failures"][:3]
    assert t["cases"] == 120 and t.get("refused", 0) + t.get("load-refused", 0) + t.get("loaded", 0) == 120
    assert t.get("refused", 0) > 60 and t.get("loaded", 0) > 0, t  # the gate and the loader are both exercised
    print(json.dumps(t))
