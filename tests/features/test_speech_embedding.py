"""The speech-embedding front end (edgernn.features.speech_embedding): pinned wheel, shapes, streaming
alignment, records, and the places that must refuse it (firmware, fixed arithmetic)."""
from __future__ import annotations

import zipfile

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from edgernn import wheels
from edgernn.cli import main
from edgernn.errors import UserError
from edgernn.features import features
from edgernn.features import speech_embedding as se
from edgernn.features.config import FeatureConfig, embedding_config

needs_wheel = pytest.mark.skipif(not wheels.has_wheel("openwakeword"),
                                 reason=f"openwakeword wheel not downloaded ({wheels.fetch_command('openwakeword')})")


def _one_line_error(r) -> str:
    lines = r.output.strip().splitlines()
    assert r.exit_code == 2 and len(lines) == 1 and lines[0].startswith("edgernn: error:"), r.output
    return lines[0]


@pytest.fixture
def bad_wheel(tmp_path, monkeypatch):
    """A file with the pinned wheel's name and the wrong bytes."""
    folder = tmp_path / "wheels"
    folder.mkdir()
    with zipfile.ZipFile(folder / wheels.PINNED_WHEELS["openwakeword"][1], "w") as z:
        z.writestr(se.MEL_MEMBER, b"not onnx")
        z.writestr(se.EMBEDDING_MEMBER, b"not onnx")
    monkeypatch.setenv(wheels.WHEEL_DIR_ENV, str(folder))
    monkeypatch.setattr(wheels, "_verified", {})
    monkeypatch.setattr(se, "_sessions", {})
    return folder


def _tiny_kws(root, words=("yes", "no", "other"), per_word=4):
    rng = np.random.default_rng(0)
    (root / "_background_noise_").mkdir(parents=True)
    sf.write(root / "_background_noise_" / "n.wav", (0.01 * rng.normal(size=48000)).astype(np.float32), 16000)
    for w_i, w in enumerate(words):
        (root / w).mkdir()
        for k in range(per_word):
            t = np.arange(16000) / 16000
            x = 0.3 * np.sin(2 * np.pi * (300 + 200 * w_i) * t) * (t > 0.3) * (t < 0.7)
            sf.write(root / w / f"s{k}_nohash_0.wav", x.astype(np.float32), 16000, subtype="PCM_16")
    (root / "validation_list.txt").write_text("".join(f"{w}/s0_nohash_0.wav\n" for w in words))
    (root / "testing_list.txt").write_text("".join(f"{w}/s1_nohash_0.wav\n" for w in words))
    return root


def _eval_and_detect(run, data, tmp_path):
    """`eval` the run's model, then `detect` on a recording of every "yes" clip joined; both must exit 0.
    Returns the recording."""
    r = CliRunner().invoke(main, ["eval", str(run / "model.keras")])
    assert r.exit_code == 0, r.output
    wav = tmp_path / "long.wav"
    sf.write(wav, np.concatenate([sf.read(p)[0] for p in sorted((data / "yes").glob("*.wav"))]), 16000)
    r = CliRunner().invoke(main, ["detect", str(run), str(wav), "--every-ms", "240", "--json"])
    assert r.exit_code == 0, r.output
    return wav


def test_embedding_config_shapes():
    cfg = embedding_config()
    assert (cfg.num_frames, cfg.num_features) == (16, 96)
    assert (cfg.hop, cfg.window) == (se.EMBED_STEP * se.MEL_HOP, (se.EMBED_FRAMES - 1) * se.MEL_HOP + se.MEL_WINDOW)
    assert se.num_embeddings(cfg.clip_samples) == cfg.num_frames
    assert cfg.digest() != FeatureConfig().digest()


def test_records_accept_only_the_fixed_embedding_front_end():
    from pydantic import ValidationError

    from edgernn.records import FeatureParams

    assert FeatureParams(**embedding_config().to_dict()).feature_config() == embedding_config()
    with pytest.raises(ValidationError, match="fixed parameters"):
        FeatureParams(**{**embedding_config().to_dict(), "hop_ms": 40.0})


def test_c_front_end_refuses_embedding_runs():
    from edgernn.export.frontend_c import check_feature_config

    with pytest.raises(UserError, match="no C front end"):
        check_feature_config(embedding_config())


def test_wrong_wheel_checksum_is_one_error(bad_wheel):
    with pytest.raises(UserError, match="sha256 differs"):
        se.clip_embeddings(np.zeros(16000, np.float32), 16000)


def test_train_with_a_wrong_wheel_is_one_error_line(bad_wheel, tmp_path):
    data = _tiny_kws(tmp_path / "kws")
    r = CliRunner().invoke(main, ["train", "--task", "kws", "--data", str(data), "--keywords", "yes,no",
                                  "--out", str(tmp_path / "run"), "--features", "embedding", "--no-augment",
                                  "--epochs", "1"])
    assert "sha256 differs" in _one_line_error(r)
    assert not (tmp_path / "run").exists()


def test_embedding_refuses_fixed_arithmetic(tmp_path):
    data = _tiny_kws(tmp_path / "kws")
    r = CliRunner().invoke(main, ["train", "--task", "kws", "--data", str(data), "--keywords", "yes,no",
                                  "--out", str(tmp_path / "run"), "--features", "embedding",
                                  "--feature-arithmetic", "fixed"])
    assert "feature-arithmetic" in _one_line_error(r)


@needs_wheel
def test_clip_embeddings_shape_and_batch():
    rng = np.random.default_rng(0)
    x = (0.1 * rng.normal(size=(3, 16000))).astype(np.float32)
    e = features(x, embedding_config())
    assert e.shape == (3, 16, 96) and e.dtype == np.float32 and np.all(np.isfinite(e))
    assert np.allclose(e[1], se.clip_embeddings(x[1], 16000), rtol=1e-4, atol=1e-2)  # batch vs one: float rounding
    assert not np.allclose(e[0], e[1])


@needs_wheel
def test_stream_embeddings_match_the_clip_windows():
    """The stream's embeddings over a clip centred in silence are the clip's training features."""
    rng = np.random.default_rng(1)
    clip = (0.2 * rng.normal(size=16000)).astype(np.float32)
    pad = int(se.CLIP_PAD_S * 16000)
    stream = np.concatenate([np.zeros(pad, np.float32), clip, np.zeros(pad, np.float32)])
    s = se.stream_embeddings(stream)
    c = se.clip_embeddings(clip, 16000)
    assert len(s) >= 16 and np.allclose(s[:16], c, rtol=1e-4, atol=1e-2)


@needs_wheel
@pytest.mark.slow
def test_embedding_run_end_to_end(tmp_path):
    """train --features embedding -> eval -> detect run the two stages; firmware build refuses the run."""
    data = _tiny_kws(tmp_path / "kws", per_word=6)
    run = tmp_path / "run"
    r = CliRunner().invoke(main, ["train", "--task", "kws", "--data", str(data), "--keywords", "yes,no",
                                  "--out", str(run), "--features", "embedding", "--no-augment", "--epochs", "2",
                                  "--units", "8"])
    assert r.exit_code == 0, r.output
    from edgernn.records import read_config

    cfg = read_config(run / "config.json")
    assert cfg.input_shape == [16, 96] or tuple(cfg.input_shape) == (16, 96)
    wav = _eval_and_detect(run, data, tmp_path)
    r = CliRunner().invoke(main, ["detect", str(run), str(wav), "--every-ms", "200"])
    assert "multiple of the hop (80 ms)" in _one_line_error(r)
    r = CliRunner().invoke(main, ["firmware", "build", str(run / "model.keras"), "--out", str(tmp_path / "fw")])
    assert r.exit_code == 2 and r.output.startswith("edgernn: error:"), r.output


def test_dense_head_needs_embedding_features(tmp_path):
    data = _tiny_kws(tmp_path / "kws")
    r = CliRunner().invoke(main, ["train", "--task", "kws", "--data", str(data), "--keywords", "yes,no",
                                  "--out", str(tmp_path / "run"), "--arch", "dense"])
    assert "--features embedding" in _one_line_error(r)
    assert not (tmp_path / "run").exists()


@needs_wheel
@pytest.mark.slow
def test_dense_head_on_embeddings_end_to_end(tmp_path):
    """train --arch dense --features embedding: issue 25's head (2 x 128, dropout 0.3 by default), then
    eval and detect read it like any embedding run."""
    from edgernn.io import load_keras_model
    from edgernn.records import read_config

    data = _tiny_kws(tmp_path / "kws", per_word=6)
    run = tmp_path / "run"
    r = CliRunner().invoke(main, ["train", "--task", "kws", "--data", str(data), "--keywords", "yes,no",
                                  "--out", str(run), "--features", "embedding", "--arch", "dense", "--units", "128",
                                  "--layers", "2", "--epochs", "2"])
    assert r.exit_code == 0, r.output
    cfg = read_config(run / "config.json")
    assert (cfg.arch, cfg.units, cfg.layers, cfg.dropout, cfg.lr) == ("dense", 128, 2, 0.3, 3e-4)
    assert cfg.params == 1536 * 128 + 128 + 128 * 128 + 128 + 128 * 4 + 4
    names = [type(x).__name__ for x in load_keras_model(run / "model.keras").layers]
    assert names == ["InputLayer", "Flatten", "Dense", "Dropout", "Dense", "Dropout", "Dense"]
    _eval_and_detect(run, data, tmp_path)
