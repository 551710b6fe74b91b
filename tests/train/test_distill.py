"""Distillation (train --teacher, edgernn.train.distill): the loss, the pairing of teacher and student
rows, the refusals (another vocabulary, another sample rate), and a student that follows its teacher."""
from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import tone_kws

from edgernn import api
from edgernn.cli import main
from edgernn.errors import UserError
from edgernn.train import distill as DI


def _one_line_error(r) -> str:
    lines = r.output.strip().splitlines()
    assert r.exit_code == 2 and len(lines) == 1 and lines[0].startswith("edgernn: error:"), r.output
    return lines[0]


@pytest.fixture(scope="module")
def tones(tmp_path_factory):
    return tone_kws(tmp_path_factory.mktemp("tones") / "kws")


@pytest.fixture(scope="module")
def teacher(tones, tmp_path_factory):
    return api.train(task="kws", arch="gru", units=8, data=tones, out=tmp_path_factory.mktemp("t") / "teacher",
                     keywords="yes,no", augment=False, epochs=3, progress=False)


def _train_args(data, out, *extra, keywords="yes,no"):
    return ["train", "--task", "kws", "--data", str(data), "--out", str(out), "--units", "8", "--epochs", "3",
            "--keywords", keywords, *extra]


def test_soften_is_a_flatter_distribution():
    p = np.array([[0.7, 0.2, 0.1], [0.05, 0.05, 0.9]])
    assert np.allclose(DI.soften(p, 1.0), p, atol=1e-6)
    s = DI.soften(p, 4.0)
    assert np.allclose(s.sum(axis=1), 1.0) and np.all(s.max(axis=1) < p.max(axis=1))
    assert (s.argmax(axis=1) == p.argmax(axis=1)).all()


def test_loss_is_the_weighted_sum_of_cross_entropy_and_kl():
    from edgernn.tf import load

    tf, _ = load()
    rng = np.random.default_rng(0)
    student = rng.dirichlet(np.ones(4), 3).astype(np.float32)
    teacher = rng.dirichlet(np.ones(4), 3).astype(np.float32)
    alpha, T = 0.3, 2.5
    labels, weights = np.array([1, 3, 0]), np.array([2.0, 1.0, 0.0])  # the last row is unlabelled
    soft = DI.soften(teacher, T)
    got = DI.loss(alpha, T, 4)(tf.constant(DI.targets(labels, weights, soft)), tf.constant(student)).numpy()
    ps = DI.soften(student, T)
    kl = (soft * (np.log(soft) - np.log(ps))).sum(axis=1)
    ce = -np.log(student[np.arange(3), labels]) * weights
    assert np.allclose(got, (1 - alpha) * ce + alpha * T * T * kl, rtol=1e-4, atol=1e-5)


def test_row_weights_follow_the_class_weights():
    assert DI.row_weights(np.array([0, 2, 1]), {0: 0.5, 1: 2.0, 2: 1.0}).tolist() == [0.5, 1.0, 2.0]
    assert DI.row_weights(np.array([0, 2]), None).tolist() == [1.0, 1.0]


def test_teacher_of_another_vocabulary_is_one_error_line(tones, teacher, tmp_path):
    r = CliRunner().invoke(main, _train_args(tones, tmp_path / "s", "--teacher", str(teacher), keywords="yes"))
    assert "classes" in _one_line_error(r) and "differ" in r.output
    assert not (tmp_path / "s").exists()


def test_teacher_of_another_sample_rate_is_refused(teacher):
    from edgernn.train.run import load_config

    cfg = load_config(teacher)
    DI.check_match(teacher, cfg, cfg.class_names, 16000)
    with pytest.raises(UserError, match="16000 Hz audio, the student's data is 8000 Hz"):
        DI.check_match(teacher, cfg, cfg.class_names, 8000)


def test_teacher_sample_rate_through_the_cli(tones, teacher, tmp_path):
    """A teacher whose record says 8 kHz (its features otherwise the same) is refused before training."""
    import shutil

    t8 = tmp_path / "t8"
    shutil.copytree(teacher, t8)
    config = json.loads((t8 / "config.json").read_text())
    config["dataset_meta"]["features"] = {**config["dataset_meta"]["features"], "sample_rate": 8000}
    (t8 / "config.json").write_text(json.dumps(config))
    r = CliRunner().invoke(main, _train_args(tones, tmp_path / "s", "--teacher", str(t8), "--no-augment"))
    assert "the teacher hears 8000 Hz audio, the student's data is 16000 Hz" in _one_line_error(r)
    assert not (tmp_path / "s").exists()


def test_distill_options_without_a_teacher_or_on_another_task(tones, tmp_path, tiny_data, teacher):
    r = CliRunner().invoke(main, _train_args(tones, tmp_path / "s", "--temperature", "3"))
    assert "--teacher" in _one_line_error(r)
    r = CliRunner().invoke(main, ["train", "--task", "classify", "--data", str(tiny_data), "--out",
                                  str(tmp_path / "c"), "--teacher", str(teacher)])
    assert "--task kws" in _one_line_error(r)
    r = CliRunner().invoke(main, _train_args(tones, tmp_path / "s", "--teacher", str(tmp_path / "nothing")))
    assert "no such run folder" in _one_line_error(r)


@pytest.mark.slow
def test_student_follows_its_teacher(tones, teacher, tmp_path):
    """A teacher made to answer 'yes' to everything: with alpha 1 the student answers 'yes' too (the labels
    are ignored), with the default alpha it still learns the labels; the SpecAugment path carries targets."""
    import shutil

    from edgernn.io import load_keras_model
    from edgernn.records import read_config, read_metrics

    yes_teacher = tmp_path / "yes"
    shutil.copytree(teacher, yes_teacher)
    model = load_keras_model(yes_teacher / "model.keras")
    w = model.get_weights()
    w[-1] = w[-1] + np.eye(len(w[-1]), dtype=np.float32)[2] * 50.0  # the classes' bias: 'yes' wins
    model.set_weights(w)
    model.save(yes_teacher / "model.keras")
    follower = tmp_path / "follower"
    r = CliRunner().invoke(main, _train_args(tones, follower, "--teacher", str(yes_teacher), "--distill-alpha", "1",
                                             "--temperature", "1", "--unlabelled-minutes", "0",
                                             "--epochs", "12"))
    assert r.exit_code == 0, r.output
    cfg = read_config(follower / "config.json")
    assert cfg.distill.alpha == 1.0 and cfg.distill.unlabelled_clips == 0 and cfg.distill.teacher_features == "mfcc"
    conf = np.asarray(read_metrics(follower / "metrics.json").confusion_matrix)
    assert conf[:, 2].sum() >= 0.9 * conf.sum(), conf  # predicted 'yes' on (nearly) every test clip
    student = api.train(task="kws", arch="gru", units=8, data=tones, out=tmp_path / "student", keywords="yes,no",
                        epochs=3, progress=False, teacher=teacher, unlabelled_minutes=0.0)
    cfg = read_config(student / "config.json")
    assert cfg.augment is not None and cfg.distill.alpha == 0.5 and cfg.distill.temperature == 2.0
    assert cfg.arch == "gru"  # an ordinary MFCC model: quantize and export read it as any other run
    api.quantize(student, mode="int8", calibration_samples=20)
    assert (student / "model_int8.tflite").is_file()


@pytest.mark.slow
def test_unlabelled_real_speech_rows(tones, teacher, tmp_path):
    from edgernn.data.real_speech import is_fetched, speakers

    if not all(is_fetched(s) for s in speakers("train")):
        pytest.skip("real-speech packages not fetched (edgernn data real-speech --fetch)")
    waves = DI.unlabelled_waves(tones, 0.5, 0, 16000, 16000)
    assert waves.shape == (30, 16000) and np.abs(waves).max() > 0.01
    student = api.train(task="kws", arch="gru", units=8, data=tones, out=tmp_path / "s", keywords="yes,no",
                        epochs=2, progress=False, teacher=teacher, unlabelled_minutes=0.5, augment=False)
    from edgernn.records import read_config

    assert read_config(student / "config.json").distill.unlabelled_clips == 30
