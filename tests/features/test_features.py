import numpy as np

from edgernn.features import FeatureConfig, features
from edgernn.features.dsp import dct_matrix, hz_to_mel, mel_filterbank
from edgernn.features.frontend import log_mel, mfcc


def test_one_second_gives_hello_edge_shape():
    cfg = FeatureConfig()
    x = np.random.default_rng(0).normal(0, 0.1, 16000).astype(np.float32)
    assert cfg.num_frames == 49
    assert mfcc(x, cfg).shape == (49, 10)
    assert log_mel(x, cfg).shape == (49, 40)
    assert features(x, FeatureConfig(kind="logmel")).shape == (49, 40)


def test_batch_equals_one_by_one_and_short_clips_are_padded():
    rng = np.random.default_rng(1)
    xs = rng.normal(0, 0.1, (3, 16000)).astype(np.float32)
    batch = mfcc(xs)
    for i in range(3):
        np.testing.assert_allclose(batch[i], mfcc(xs[i]), rtol=1e-5, atol=1e-4)
    padded = np.concatenate([xs[0, :8000], np.zeros(8000, np.float32)])
    np.testing.assert_allclose(mfcc(xs[0, :8000]), mfcc(padded), atol=1e-5)


def test_pure_tone_peaks_in_the_mel_band_holding_its_frequency():
    cfg = FeatureConfig()
    t = np.arange(16000) / 16000
    for f in (300.0, 1000.0, 3000.0):
        band = int(log_mel(np.sin(2 * np.pi * f * t), cfg).mean(axis=0).argmax())
        edges = np.linspace(hz_to_mel(cfg.fmin), hz_to_mel(cfg.fmax), cfg.n_mels + 2)
        assert abs(edges[band + 1] - hz_to_mel(f)) < (edges[1] - edges[0]) * 1.01


def test_filterbank_triangles_and_orthonormal_dct():
    fb = mel_filterbank(16000, 512, 40, 20.0, 4000.0)
    assert fb.shape == (257, 40)
    assert np.all(fb >= 0) and np.all(fb.max(axis=0) > 0.5)
    d = dct_matrix(40, 40)
    np.testing.assert_allclose(d.T @ d, np.eye(40), atol=1e-5)


def test_silence_is_finite():
    assert np.all(np.isfinite(mfcc(np.zeros(16000, np.float32))))


def test_mean_norm_study_option_centres_each_window_and_leaves_defaults_alone():
    import dataclasses

    import pytest

    from edgernn.errors import UserError
    from edgernn.export.frontend_c import check_feature_config

    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 16000)).astype(np.float32) * 0.1
    cfg = FeatureConfig()
    normed = features(x, dataclasses.replace(cfg, mean_norm=True))
    assert np.allclose(normed.mean(axis=1), 0, atol=1e-4)
    assert np.allclose(normed, features(x, cfg) - features(x, cfg).mean(axis=1, keepdims=True), atol=1e-4)
    # a default config keeps the digest (and the feature caches) it had before the option existed
    assert "mean_norm" not in cfg.to_dict() and "mean_norm" in dataclasses.replace(cfg, mean_norm=True).to_dict()
    with pytest.raises(UserError, match="mean_norm"):
        check_feature_config(dataclasses.replace(cfg, mean_norm=True))
