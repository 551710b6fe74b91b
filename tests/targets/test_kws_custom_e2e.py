"""A custom vocabulary end to end: 4 new words -> synth -> tiny train -> int8 -> C -> QEMU firmware (issue 13)."""
import json

import pytest

from edgernn import api

WORDS = "lamp,coffee,window,seven"


@pytest.mark.slow
def test_custom_vocabulary_from_synthesis_to_firmware(tmp_path):
    data = api.synth_kws(tmp_path / "data", keywords=WORDS, per_word=24, unknown_total=48, seed=2,
                         engines="espeak,flite", progress=False)
    run = api.train(task="kws", arch="gru", units=8, data=data, out=tmp_path / "run", epochs=3, progress=False)
    config = json.loads((run / "config.json").read_text())
    assert config["class_names"] == ["_silence_", "_unknown_", *WORDS.split(",")]
    assert config["data_options"]["keywords"] == WORDS.split(",") and config["augment"]["copies"] >= 1
    model = api.quantize(run, mode="int8", calibration_samples=40)
    m = api.evaluate(model, progress=False)  # later steps load the run's data with its keywords
    assert m["class_names"] == config["class_names"] and m["samples"] > 0
    c_dir = api.export(model, format="c", out=tmp_path / "c")
    assert any(p.suffix == ".c" for p in c_dir.rglob("*")) if c_dir.is_dir() else c_dir.exists()
    elf = api.firmware_build(model, board="mps2-an386", out=tmp_path / "fw", vectors=4)
    r = api.firmware_run(elf)
    assert r["mismatches"] == 0 and r["vectors"] == 4
    # the int8 model streams too: scores are its int8 outputs + 128, one result per 200 ms
    import numpy as np

    from edgernn.data.wav import write_wav

    write_wav(tmp_path / "long.wav", np.random.default_rng(0).standard_normal(16000 * 3).astype(np.float32) * 0.05)
    d = api.detect(model, tmp_path / "long.wav", threshold=0)
    assert d["results"] == 11 and all(det["label"] in WORDS.split(",") for det in d["detections"])
