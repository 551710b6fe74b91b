"""The dense head (--arch dense, edgernn.models.dense): its counts match Keras, it is a host head for
speech embeddings only, and its saved model passes the model gate."""
import numpy as np
import pytest

from edgernn.errors import UserError
from edgernn.models import build_classifier, check_arch, count_macs, count_params, export_model
from edgernn.records import Architecture


@pytest.mark.parametrize("units,layers", [(128, 2), (16, 1), (8, 3)])
def test_dense_counts_match_keras(units, layers):
    config = Architecture(task="kws", arch="dense", units=units, layers=layers, input_shape=[16, 96],
                          class_names=[str(k) for k in range(12)], dropout=0.3)
    model = build_classifier("dense", units, layers, (16, 96), 12, dropout=0.3)
    assert model.count_params() == count_params(config)
    assert count_macs(config) == 1536 * units + (layers - 1) * units * units + units * 12
    assert [type(x).__name__ for x in model.layers].count("Dropout") == layers


def test_issue_25_head_size():
    config = Architecture(task="kws", arch="dense", units=128, layers=2, input_shape=[16, 96],
                          class_names=[str(k) for k in range(12)])
    assert count_params(config) == 1536 * 128 + 128 + 128 * 128 + 128 + 128 * 12 + 12


def test_dense_is_for_embedding_features_only():
    check_arch("dense", "embedding")
    check_arch("gru", "mfcc")
    with pytest.raises(UserError, match="--features embedding"):
        check_arch("dense", "mfcc")
    with pytest.raises(UserError, match="choose from gru, lstm, rnn, dense"):
        check_arch("transformer", "mfcc")


def test_dense_model_round_trips_through_the_gate(tmp_path):
    from edgernn.io import load_keras_model

    config = Architecture(task="kws", arch="dense", units=8, layers=2, input_shape=[16, 96], class_names=["a", "b"],
                          dropout=0.3)
    model = build_classifier("dense", 8, 2, (16, 96), 2, dropout=0.3)
    model.save(tmp_path / "model.keras")
    loaded = load_keras_model(tmp_path / "model.keras")
    x = np.random.default_rng(0).normal(size=(2, 16, 96)).astype(np.float32)
    np.testing.assert_allclose(loaded(x).numpy(), model(x).numpy(), atol=1e-6)
    np.testing.assert_allclose(export_model(model, config)(x[:1]).numpy(), model(x[:1]).numpy(), atol=1e-6)
