import numpy as np
import pytest

from edgernn.train import metrics as M


def test_classification_metrics_by_hand():
    y = [0, 0, 1, 1, 2]
    probs = np.eye(3)[[0, 1, 1, 1, 0]]
    m = M.classification_metrics(y, probs, ["a", "b", "c"])
    assert m["accuracy"] == pytest.approx(3 / 5)
    assert m["confusion_matrix"] == [[1, 1, 0], [0, 2, 0], [1, 0, 0]]
    assert m["per_class"]["b"] == {"precision": pytest.approx(2 / 3), "recall": 1.0, "support": 2}
    assert m["per_class"]["c"]["precision"] == 0.0 and m["per_class"]["c"]["recall"] == 0.0


def test_roc_auc_with_ties():
    # pairs (pos, neg): (0.8,0.1)=1, (0.8,0.8)=0.5, (0.4,0.1)=1, (0.4,0.8)=0  -> 2.5/4
    assert M.roc_auc([1, 1, 0, 0], [0.8, 0.4, 0.1, 0.8]) == pytest.approx(0.625)
    assert M.roc_auc([0, 1], [0.0, 1.0]) == 1.0
    assert M.roc_auc([1, 0], [0.0, 1.0]) == 0.0
    assert np.isnan(M.roc_auc([1, 1], [0.1, 0.2]))


def test_anomaly_metrics_and_threshold():
    thr = M.choose_threshold(np.arange(101), percentile=90)
    assert thr == pytest.approx(90.0)
    m = M.anomaly_metrics([0, 0, 1, 1], [1.0, 95.0, 99.0, 50.0], thr)
    assert (m["precision"], m["recall"]) == (pytest.approx(0.5), pytest.approx(0.5))
    assert m["confusion_matrix"] == [[1, 1], [1, 1]]


def test_anomaly_scores_predictor_compares_with_next_step():
    X = np.arange(12, dtype=float).reshape(1, 4, 3)
    perfect = np.concatenate([X[:, 1:], np.zeros((1, 1, 3))], axis=1)
    assert M.anomaly_scores(perfect, X, "predictor")[0] == 0.0
    assert M.anomaly_scores(X, X, "autoencoder")[0] == 0.0
    assert M.anomaly_scores(X + 2, X, "autoencoder")[0] == pytest.approx(4.0)
