"""The C feature front end (firmware/features) against the Python one, on the host build (ctypes)."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from edgernn.errors import UserError
from edgernn.export.frontend_c import feature_config_of_run, frontend_header
from edgernn.records import DatasetMeta, RunConfig, read_config
from edgernn.features import FeatureConfig, features
from edgernn.runtimes.base import TensorInfo, quantize

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")

SCALE, ZP = 0.0519, 13


def _audio(seed: int, n: int = 16000) -> np.ndarray:
    """Speech-like test audio: noise bursts, tones and chirps at random levels, then int16."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / 16000
    x = rng.normal(0, 10 ** rng.uniform(-4, -1), n)
    for _ in range(3):
        f0, f1 = rng.uniform(80, 3500, 2)
        env = np.exp(-((t - rng.uniform(0, 1)) / rng.uniform(0.05, 0.3)) ** 2)
        x += rng.uniform(0.01, 0.5) * env * np.sin(2 * np.pi * (f0 + (f1 - f0) * t / 2) * t)
    return np.clip(np.round(x * 32768), -32768, 32767).astype(np.int16)


def _python_int8(pcm: np.ndarray, cfg: FeatureConfig, mean, std) -> np.ndarray:
    f = features(pcm.astype(np.float32) / 32768, cfg)
    x = (f - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    return quantize(x, TensorInfo(x.shape, "int8", SCALE, ZP))


@pytest.fixture(scope="module")
def frontend():
    from edgernn.runtimes.frontend_native import NativeFrontend

    cfg = FeatureConfig()
    mean = np.linspace(-30, 2, cfg.num_features)
    std = np.linspace(28, 1.5, cfg.num_features)
    return NativeFrontend(cfg, mean, std, SCALE, ZP), cfg, mean, std


def test_c_features_match_python_within_one_lsb(frontend):
    fe, cfg, mean, std = frontend
    got = np.stack([fe.int8_frames(_audio(s)) for s in range(40)]).astype(int)
    want = np.stack([_python_int8(_audio(s), cfg, mean, std) for s in range(40)]).astype(int)
    assert got.shape == want.shape == (40, cfg.num_frames, cfg.num_features)
    assert np.abs(got - want).max() <= 1
    assert (got == want).mean() >= 0.99


def test_c_float_features_close_to_numpy(frontend):
    fe, cfg, _, _ = frontend
    pcm = _audio(7)
    c, py = fe.float_frames(pcm), features(pcm.astype(np.float32) / 32768, cfg)
    assert np.allclose(c, py, rtol=1e-4, atol=1e-3)
    silent = fe.float_frames(np.zeros(16000, np.int16))  # log floor, no NaN or -inf
    assert np.allclose(silent, features(np.zeros(16000, np.float32), cfg), atol=1e-3)


def test_streaming_ring_buffer_equals_whole_frames(frontend):
    """The incremental path (ring buffer, any chunking) gives the frames of the direct path."""
    fe, cfg, mean, std = frontend
    pcm = _audio(3, 16000 + 777)  # not a whole number of hops
    streamed = fe.int8_frames(pcm)
    direct = fe.float_frames(pcm)
    assert len(streamed) == len(direct) == 1 + (pcm.size - cfg.window) // cfg.hop
    x = (direct - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    assert np.array_equal(streamed, quantize(x, TensorInfo(x.shape, "int8", SCALE, ZP)))
    assert len(fe.int8_frames(pcm[:cfg.window - 1])) == 0  # no padding at the stream start


def test_logf_accuracy(frontend):
    fe = frontend[0]
    for v in np.geomspace(1e-6, 1e9, 200):
        assert abs(fe.logf(float(v)) - np.log(v)) <= 2e-6 * max(1.0, abs(np.log(v)))


def test_logmel_kind_and_other_sizes():
    from edgernn.runtimes.frontend_native import NativeFrontend

    cfg = FeatureConfig(kind="logmel", n_mels=20, n_fft=256, window_ms=16.0, hop_ms=10.0, fmax=7000.0)
    mean, std = np.full(20, -5.0), np.full(20, 3.0)
    fe = NativeFrontend(cfg, mean, std, SCALE, ZP)
    got = np.stack([fe.int8_frames(_audio(s)) for s in range(10)]).astype(int)
    want = np.stack([_python_int8(_audio(s), cfg, mean, std) for s in range(10)]).astype(int)
    assert np.abs(got - want).max() <= 1 and (got == want).mean() >= 0.99


def test_unsupported_configs_are_user_errors():
    with pytest.raises(UserError, match="power of two"):
        frontend_header(FeatureConfig(n_fft=500), np.zeros(10), np.ones(10), SCALE, ZP)
    with pytest.raises(UserError, match="window"):
        frontend_header(FeatureConfig(n_fft=256), np.zeros(10), np.ones(10), SCALE, ZP)  # 480-sample window
    with pytest.raises(UserError, match="input_norm"):
        frontend_header(FeatureConfig(), np.zeros(9), np.ones(9), SCALE, ZP)
    with pytest.raises(UserError, match="no feature parameters"):
        feature_config_of_run(RunConfig.model_construct(task="classify", dataset_meta=DatasetMeta()))


def _extremes() -> list[np.ndarray]:
    """Audio that stresses the integer path's ranges: silence, full-scale square and DC, one click."""
    square = np.where(np.arange(16000) // 20 % 2, 32767, -32768).astype(np.int16)
    click = np.zeros(16000, np.int16)
    click[8000] = -32768
    return [np.zeros(16000, np.int16), square, np.full(16000, -32768, np.int16), click,
            np.full(16000, 1, np.int16)]


@pytest.mark.parametrize("cfg", [FeatureConfig(arithmetic="fixed"),
                                 FeatureConfig(arithmetic="fixed", kind="logmel", n_mels=20, n_fft=256,
                                               window_ms=16.0, hop_ms=10.0, fmax=7000.0)])
def test_fixed_point_c_equals_its_python_mirror_bit_for_bit(cfg):
    from edgernn.features.dsp import frames
    from edgernn.features.fixed_point import fixed_features_pcm
    from edgernn.runtimes.frontend_native import NativeFrontend

    n = cfg.num_features
    fe = NativeFrontend(cfg, np.zeros(n), np.ones(n), SCALE, ZP)
    assert fe.fixed
    for pcm in [_audio(s) for s in range(8)] + _extremes():
        c = fe.float_frames(pcm)
        assert np.array_equal(c, fixed_features_pcm(frames(pcm, cfg.window, cfg.hop), cfg))
        assert np.isfinite(c).all()
        # through the training entry point: float waveforms in [-1, 1] are the int16 samples / 32768
        assert np.array_equal(c, features(pcm.astype(np.float32) / 32768, cfg))


def test_fixed_point_features_agree_with_float_within_one_lsb():
    """A model trained on float features still runs on the integer path: <= 1 LSB, >= 99% equal."""
    from edgernn.runtimes.frontend_native import NativeFrontend

    cfg = FeatureConfig()
    mean, std = np.linspace(-30, 2, 10), np.linspace(28, 1.5, 10)
    fe = NativeFrontend(cfg, mean, std, SCALE, ZP, fixed=True)
    got = np.stack([fe.int8_frames(_audio(s)) for s in range(40)]).astype(int)
    want = np.stack([_python_int8(_audio(s), cfg, mean, std) for s in range(40)]).astype(int)
    assert np.abs(got - want).max() <= 1 and (got == want).mean() >= 0.99


def test_arithmetic_is_a_feature_config_option():
    assert FeatureConfig().to_dict() == {k: v for k, v in FeatureConfig(arithmetic="fixed").to_dict().items()
                                         if k != "arithmetic"}
    assert "arithmetic" not in FeatureConfig().to_dict()  # float configs keep their digest (feature caches)
    assert FeatureConfig(arithmetic="fixed").digest() != FeatureConfig().digest()
    with pytest.raises(ValueError, match="arithmetic"):
        FeatureConfig(arithmetic="double")
    meta = DatasetMeta.model_validate({"features": FeatureConfig(arithmetic="fixed").to_dict()})
    assert feature_config_of_run(RunConfig.model_construct(dataset_meta=meta)).arithmetic == "fixed"


def test_training_option_uses_the_device_integer_features(tmp_path):
    """`train --feature-arithmetic fixed`: the data the model sees is the fixed-point front end's output,
    recorded in the run so the firmware picks the same arithmetic on every core."""
    import json

    import soundfile as sf
    from click.testing import CliRunner

    from edgernn.cli import main
    from edgernn.data import load_dataset
    from edgernn.data.synth_kws import CORE_WORDS

    root = tmp_path / "sc"
    rng = np.random.default_rng(0)
    for i, word in enumerate([*CORE_WORDS, "bed"]):  # a Speech Commands layout of tones, no TTS needed
        (root / word).mkdir(parents=True)
        for k in range(4):
            t = np.arange(16000) / 16000
            x = 0.3 * np.sin(2 * np.pi * (200 + 150 * i) * t) + rng.normal(0, 0.01, 16000)
            sf.write(str(root / word / f"s{k}_nohash_0.wav"), x, 16000, subtype="PCM_16")
    (root / "_background_noise_").mkdir()
    sf.write(str(root / "_background_noise_" / "n.wav"), rng.normal(0, 0.05, 48000), 16000, subtype="PCM_16")
    (root / "testing_list.txt").write_text("\n".join(f"{w}/s3_nohash_0.wav" for w in CORE_WORDS))
    (root / "validation_list.txt").write_text("\n".join(f"{w}/s2_nohash_0.wav" for w in CORE_WORDS))
    r = CliRunner().invoke(main, ["train", "--task", "kws", "--data", str(root), "--out", str(tmp_path / "run"),
                                  "--units", "4", "--epochs", "1", "--feature-arithmetic", "fixed"])
    assert r.exit_code == 0, r.output
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["dataset_meta"]["features"]["arithmetic"] == "fixed"
    assert feature_config_of_run(read_config(tmp_path / "run" / "config.json")).arithmetic == "fixed"
    fixed = load_dataset(root, **config["data_options"]).splits["test"].X
    float_ = load_dataset(root).splits["test"].X
    assert not np.array_equal(fixed, float_) and np.abs(fixed - float_).max() < 0.05
    bad = CliRunner().invoke(main, ["train", "--task", "classify", "--data", str(root), "--out", str(tmp_path / "x"),
                                    "--feature-arithmetic", "fixed"])
    assert bad.exit_code == 2 and "--task kws" in bad.output
