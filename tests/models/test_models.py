import numpy as np
import pytest

from edgernn.models import build_anomaly, build_classifier, count_macs, count_params, export_model
from edgernn.errors import UserError
from edgernn.records import Architecture


@pytest.mark.parametrize("arch", ["gru", "lstm"])
@pytest.mark.parametrize("layers", [1, 2])
def test_param_formula_matches_keras(arch, layers):
    config = Architecture(task="kws", arch=arch, units=24, layers=layers, input_shape=[49, 10],
                          class_names=list("abcdefghijkl"))
    assert build_classifier(arch, 24, layers, (49, 10), 12).count_params() == count_params(config)


@pytest.mark.parametrize("kind", ["predictor", "autoencoder"])
def test_anomaly_param_formula_matches_keras(kind):
    config = Architecture(task="anomaly", arch="lstm", units=8, layers=2, input_shape=[16, 3], anomaly_model=kind,
                          class_names=["normal", "anomaly"])
    assert build_anomaly("lstm", 8, 2, (16, 3), kind).count_params() == count_params(config)


def test_macs_by_hand():
    c = Architecture(task="kws", arch="gru", units=64, layers=1, input_shape=[49, 10],
                     class_names=[str(k) for k in range(12)])
    assert count_macs(c) == 49 * 3 * 64 * (10 + 64) + 64 * 12
    c = c.model_copy(update={"arch": "lstm"})
    assert count_macs(c) == 49 * 4 * 64 * (10 + 64) + 64 * 12


@pytest.mark.parametrize("arch", ["gru", "lstm"])
def test_export_model_has_static_batch_and_same_outputs(arch):
    config = Architecture(task="kws", arch=arch, units=8, layers=1, dropout=0.2, input_shape=[6, 3],
                          class_names=["a", "b"])
    model = build_classifier(arch, 8, 1, (6, 3), 2, dropout=0.2)
    x = np.random.default_rng(0).normal(size=(1, 6, 3)).astype(np.float32)
    exported = export_model(model, config)
    assert exported.input_shape == (1, 6, 3)
    np.testing.assert_allclose(exported(x).numpy(), model(x).numpy(), rtol=0, atol=1e-6)


def test_bad_sizes():
    with pytest.raises(UserError, match="units"):
        build_classifier("gru", 0, 1, (4, 2), 2)
    with pytest.raises(UserError, match="unknown arch"):
        build_classifier("transformer", 4, 1, (4, 2), 2)
