"""models/: every model card's figures match its files, and the reference models work with the
commands a user runs right after install (check, bench, export --format c, firmware build)."""
from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from edgernn import api
from edgernn.cli import main

REPO = Path(__file__).resolve().parents[1]
MODELS = REPO / "models"
CARDS = sorted(MODELS.glob("*/card.json"))
MAX_FILE_BYTES = 300_000  # "each file small": the largest, LSTM-64's .keras, is ~100 KB


def _card(path: Path) -> dict:
    return json.loads(path.read_text())


def test_the_reference_models_are_there():
    names = {p.parent.name for p in CARDS}
    assert {"kws-gru64", "kws-lstm64", "anomaly-lstm32"} <= names


@pytest.mark.parametrize("card_path", CARDS, ids=lambda p: p.parent.name)
def test_card_files_sizes_and_structure_match(card_path):
    from edgernn.tflite.info import describe
    from edgernn.models import count_macs, count_params
    from edgernn.train.run import load_run

    card, folder = _card(card_path), card_path.parent
    for name, facts in card["files"].items():
        data = (folder / name).read_bytes()
        assert len(data) == facts["bytes"] and hashlib.sha256(data).hexdigest() == facts["sha256"], name
    for f in folder.iterdir():
        assert f.stat().st_size < MAX_FILE_BYTES, f
    model, config = load_run(folder)
    assert card["params"] == config.params == count_params(config) == model.count_params()
    assert card["macs"] == config.macs == count_macs(config)
    assert (card["task"], card["arch"], card["units"], card["seed"]) == (config.task, config.arch, config.units,
                                                                         config.seed)
    info = describe(folder / "model_int8.tflite")
    assert info["kind"] == "int8" and sorted(info["ops"]) == card["int8"]["ops"]
    assert card["int8"]["flash_bytes"] == card["files"]["model_int8.tflite"]["bytes"]
    assert (folder / "README.md").read_text().count(str(card["mcu"]["generator_version"])) >= 1


@pytest.mark.parametrize("card_path", CARDS, ids=lambda p: p.parent.name)
def test_card_arena_is_the_measured_one(card_path):
    card = _card(card_path)
    assert api.check(card_path.parent / "model_int8.tflite")["arena_bytes"] == card["int8"]["arena_bytes"]


def _mcu_card_or_skip(card: dict) -> dict:
    from edgernn.export.codegen import GENERATOR_VERSION

    mcu = card["mcu"]
    if mcu["generator_version"] != GENERATOR_VERSION:
        pytest.skip(f"{card['name']}: MCU figures were measured with C generator {mcu['generator_version']}, "
                    f"this is {GENERATOR_VERSION}: re-run `python tools/make_models.py` to refresh them")
    return mcu


def _check_board(card_path: Path, board: str, tmp_path) -> None:
    from edgernn.targets.mcu import measure

    card = _card(card_path)
    want = _mcu_card_or_skip(card)["boards"][board]
    got = measure(card_path.parent / "model_int8.tflite", board, vectors=card["mcu"]["vectors"], out=tmp_path)
    assert got["bit_exact_vs_tflm"] and want["bit_exact_vs_tflm"]
    for key in ("instructions_per_inference", "flash_bytes", "flash_without_vectors_bytes", "ram_bytes",
                "stack_used_bytes"):
        assert got[key] == want[key], key


@pytest.mark.parametrize("card_path", CARDS, ids=lambda p: p.parent.name)
def test_card_mcu_figures_on_m4(card_path, tmp_path):
    _check_board(card_path, "mps2-an386", tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("card_path", CARDS, ids=lambda p: p.parent.name)
def test_card_mcu_figures_on_every_board(card_path, tmp_path):
    for board, row in _card(card_path)["mcu"]["boards"].items():
        if board != "mps2-an386" and "error" not in row:
            _check_board(card_path, board, tmp_path / board)


def test_anomaly_card_metrics_match_a_fresh_evaluation(tmp_path):
    """The anomaly data is rebuilt from its seed in a second, so its metrics are checked everywhere."""
    card_path = MODELS / "anomaly-lstm32" / "card.json"
    card = _card(card_path)
    data = api.synth_anomaly(tmp_path / "anomaly", seed=card["seed"])
    sys.path.insert(0, str(REPO / "tools"))
    from make_models import data_fingerprint

    if data_fingerprint(data) != card["data"].get("fingerprint"):
        pytest.skip("synth-anomaly now makes different data than the card's (re-run tools/make_models.py)")
    got = api.evaluate(card_path.parent / "model_int8.tflite", data=data, runtime="tflm", progress=False)
    assert got["roc_auc"] == pytest.approx(card["metrics"]["int8_tflm"]["roc_auc"], abs=1e-9)


@pytest.mark.parametrize("name", ["kws-gru64", "kws-lstm64"])
def test_kws_card_metrics_match_when_the_data_is_there(name, monkeypatch):
    card = _card(MODELS / name / "card.json")
    data = REPO / card["data"]["path"]
    if not data.is_dir():
        pytest.skip(f"{data} not made (edgernn data synth-kws {card['data']['path']}, as `make demo` does)")
    sys.path.insert(0, str(REPO / "tools"))
    from make_models import data_fingerprint

    if data_fingerprint(data) != card["data"].get("fingerprint"):
        pytest.skip(f"{data} was made differently from the card's data (its edgernn_dataset.json differs)")
    monkeypatch.chdir(REPO)  # config.json names the data relative to the repository, as `make demo` makes it
    got = api.evaluate(MODELS / name / "model_int8.tflite", runtime="tflm", progress=False)
    assert got["samples"] == card["data"]["test_samples"]
    assert got["accuracy"] == pytest.approx(card["metrics"]["int8_tflm"]["accuracy"], abs=1e-9)


def test_commands_work_on_a_reference_model(tmp_path):
    model = MODELS / "kws-gru64" / "model_int8.tflite"
    run = CliRunner().invoke
    r = run(main, ["check", str(model), "--json"])
    assert r.exit_code == 0 and json.loads(r.output)["runs"], r.output
    r = run(main, ["bench", str(model), "--target", "cpu", "--runs", "5", "--warmup", "1", "--repeat", "1",
                   "--limit", "0", "--out", str(tmp_path / "bench")])
    assert r.exit_code == 0, r.output
    assert json.loads((tmp_path / "bench" / "results.json").read_text())
    r = run(main, ["export", str(model), "--format", "c", "--out", str(tmp_path / "c")])
    assert r.exit_code == 0 and (tmp_path / "c" / "model.c").is_file(), r.output
    r = run(main, ["firmware", "build", str(model), "--board", "mps2-an386", "--out", str(tmp_path / "fw")])
    assert r.exit_code == 0 and (tmp_path / "fw" / "edgernn-mps2-an386.elf").is_file(), r.output
