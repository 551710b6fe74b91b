"""The cascade (detect --verify, streaming-eval --verify; edgernn.streaming.cascade): a verifier that always
confirms keeps every wake-up, one that never does keeps none, and a verifier of another vocabulary is refused."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner
from conftest import tone_kws

from edgernn import api
from edgernn.cli import main


def _one_line_error(r) -> str:
    lines = r.output.strip().splitlines()
    assert r.exit_code == 2 and len(lines) == 1 and lines[0].startswith("edgernn: error:"), r.output
    return lines[0]


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """A tone keyword run, a long recording of its 'yes' and 'no' tones, and two verifiers made from the
    run by its class bias: one that answers every keyword (confirms), one that answers _silence_ (never)."""
    from edgernn.io import load_keras_model

    root = tmp_path_factory.mktemp("cascade")
    data = tone_kws(root / "kws")
    run = api.train(task="kws", arch="gru", units=8, data=data, out=root / "student", keywords="yes,no",
                    augment=False, epochs=15, progress=False)
    verifiers = {}
    for name, boost in (("always", np.array([-50, -50, 50, 50])), ("never", np.array([50, -50, -50, -50]))):
        v = root / name
        shutil.copytree(run, v)
        model = load_keras_model(v / "model.keras")
        w = model.get_weights()
        w[-1] = w[-1] * 0 + boost.astype(np.float32)  # the classes' bias decides; 'always': both keywords at 0.5
        w[-2] = w[-2] * 0
        model.set_weights(w)
        model.save(v / "model.keras")
        verifiers[name] = v
    clips = [sf.read(data / w / f"s{k}_nohash_0.wav")[0] for k in range(4, 10) for w in ("yes", "no")]
    gap = np.zeros(16000)
    sf.write(root / "long.wav", np.concatenate([np.concatenate([c, gap]) for c in clips]).astype(np.float32), 16000,
             subtype="PCM_16")
    return run, verifiers, root / "long.wav", data


def test_verifier_confirms_or_rejects(setup):
    run, verifiers, wav, _ = setup
    plain = api.detect(run, wav, threshold=60)
    assert len(plain["detections"]) >= 2  # the student wakes on the tones
    confirmed = api.detect(run, wav, threshold=60, verify=verifiers["always"], verify_threshold=120)
    assert len(confirmed["wakeups"]) == len(plain["detections"])
    assert confirmed["detections"] == [dict(d, confirmed=True) for d in confirmed["wakeups"]]
    assert all(w["verifier_score"] >= 120 for w in confirmed["wakeups"])
    assert confirmed["verify"]["cpu_ms_per_wakeup"] > 0
    rejected = api.detect(run, wav, threshold=60, verify=verifiers["never"])
    assert rejected["detections"] == [] and len(rejected["wakeups"]) == len(plain["detections"])
    assert all(w["verifier_score"] < 10 for w in rejected["wakeups"])


def test_detect_verify_cli_json(setup):
    run, verifiers, wav, _ = setup
    r = CliRunner().invoke(main, ["detect", str(run), str(wav), "--threshold", "60", "--verify",
                                  str(verifiers["never"]), "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["detections"] == [] and out["wakeups"] and out["verify"]["threshold"] == 128


def test_verifier_of_another_vocabulary_is_one_error_line(setup, tmp_path):
    run, _, wav, data = setup
    other = api.train(task="kws", arch="gru", units=4, data=data, out=tmp_path / "other", keywords="yes",
                      augment=False, epochs=1, progress=False)
    r = CliRunner().invoke(main, ["detect", str(run), str(wav), "--verify", str(other)])
    assert "differ" in _one_line_error(r)
    r = CliRunner().invoke(main, ["detect", str(run), str(wav), "--verify-threshold", "90"])
    assert "--verify" in _one_line_error(r)
    r = CliRunner().invoke(main, ["streaming-eval", str(run), "--verify", str(other), "--minutes", "1",
                                  "--calibration-minutes", "1", "--no-store"])
    assert "differ" in _one_line_error(r)


@pytest.mark.slow
def test_streaming_eval_cascade(setup):
    run, verifiers, _, _ = setup
    never = api.streaming_eval(run, minutes=1, calibration_minutes=1, store=False, verify=verifiers["never"])
    c = never["cascade"]
    assert c["test_stream"]["false_alarms"] == 0 and c["test_stream"]["hits"] == 0
    assert c["test_stream"]["wakeups"] == never["at_calibrated_threshold"]["hits"] + \
        never["at_calibrated_threshold"]["false_alarms"]
    always = api.streaming_eval(run, minutes=1, calibration_minutes=1, store=False, verify=verifiers["always"],
                                verify_threshold=120)
    a = always["cascade"]["test_stream"]
    assert (a["hits"], a["false_alarms"]) == (always["at_calibrated_threshold"]["hits"],
                                              always["at_calibrated_threshold"]["false_alarms"])
    assert always["cascade"]["wake_threshold"] == always["recognize"]["threshold"]
    eager = api.streaming_eval(run, minutes=1, calibration_minutes=1, store=False, verify=verifiers["always"],
                               verify_threshold=120, wake_fa_per_hour=3600)["cascade"]  # wakes on (nearly) anything
    assert eager["wake_threshold"] <= always["recognize"]["threshold"]
    assert eager["test_stream"]["wakeups"] >= a["wakeups"]
