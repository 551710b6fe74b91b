"""Default training options for keyword spotting (issue 13, quality of the defaults)."""
import json

import pytest
from click.testing import CliRunner

from edgernn.cli import main
from edgernn.data.augment import DEFAULT_AUGMENT
from edgernn.train.loop import DEFAULTS, default_dropout


@pytest.fixture(scope="module")
def tiny_kws(tmp_path_factory):
    from edgernn.data.synth_kws import synth_kws

    return synth_kws(tmp_path_factory.mktemp("d") / "kws", seed=5, per_word=8, unknown_total=16, engines="espeak",
                     keywords="yes,no", progress=False)


def test_dropout_default_depends_on_augmentation():
    assert default_dropout("kws", True) == default_dropout("kws", {"copies": 1}) == 0.0
    assert default_dropout("kws", False) == DEFAULTS["dropout"] > 0
    assert default_dropout("classify", True) == DEFAULTS["dropout"]


@pytest.mark.parametrize("extra, dropout, copies", [([], 0.0, DEFAULT_AUGMENT["copies"]),
                                                    (["--no-augment"], DEFAULTS["dropout"], None),
                                                    (["--dropout", "0.2"], 0.2, DEFAULT_AUGMENT["copies"])])
def test_train_records_the_dropout_and_augmentation_used(tiny_kws, tmp_path, extra, dropout, copies):
    out = tmp_path / "run"
    r = CliRunner().invoke(main, ["train", "--task", "kws", "--arch", "gru", "--units", "4", "--epochs", "1",
                                  "--data", str(tiny_kws), "--out", str(out), *extra])
    assert r.exit_code == 0, r.output
    config = json.loads((out / "config.json").read_text())
    assert config["dropout"] == dropout
    assert (config.get("augment") or {}).get("copies") == copies


def test_warp_augmentation_is_off_by_default_and_resamples_when_asked():
    import numpy as np

    from edgernn.data.augment import check_augment, parse_augment_options, shift_and_mix, warp

    assert DEFAULT_AUGMENT["warp"] == 0.0
    tone = np.sin(2 * np.pi * 440 * np.arange(16000) / 16000).astype(np.float32)
    for factor in (0.9, 1.1):
        y = warp(tone, factor)
        assert len(y) == len(tone)
        assert abs(np.argmax(np.abs(np.fft.rfft(y))) - 440 * factor) <= 1  # 1 Hz bins
    opts = dict(check_augment({}), time_shift_ms=0, background_prob=0.0)
    rng = np.random.default_rng(0)
    assert np.array_equal(shift_and_mix(tone, rng, [], opts, 16000), tone)  # no warp: untouched
    warped = shift_and_mix(tone, np.random.default_rng(0), [], dict(opts, warp=0.2), 16000)
    assert not np.allclose(warped, tone)
    assert parse_augment_options("warp=0.15")["warp"] == 0.15
    with pytest.raises(Exception, match="warp"):
        check_augment({"warp": 0.5})
