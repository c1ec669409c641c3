from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from textauto.space.nbsvm import NBSVMClassifier


def test_log_count_ratio_points_features_at_their_class():
    # feature 0 appears only in class "a", feature 1 only in "b", feature 2 in both
    X = sp.csr_matrix(np.array([[1, 0, 1], [2, 0, 1], [0, 1, 1], [0, 3, 1]], dtype=float))
    y = np.array(["a", "a", "b", "b"])
    clf = NBSVMClassifier(C=10.0).fit(X, y)
    r = clf.ratios_[0]  # binary: the ratio for classes_[1] == "b"
    assert r[1] > 0 > r[0] and abs(r[2]) < 1e-9
    assert list(clf.predict(X)) == list(y)
    proba = clf.predict_proba(X)
    assert proba.shape == (4, 2) and np.allclose(proba.sum(axis=1), 1)


def test_multiclass_one_model_per_class():
    rng = np.random.default_rng(0)
    y = np.repeat(["x", "y", "z"], 20)
    X = rng.poisson(0.3, size=(60, 30)).astype(float)
    X[:, :3] = 0
    for i, cls in enumerate("xyz"):
        X[y == cls, i] = 1  # each class has a feature of its own
    clf = NBSVMClassifier().fit(sp.csr_matrix(X), y)
    assert len(clf.estimators_) == 3 and clf.decision_function(X).shape == (60, 3)
    assert (clf.predict(X) == y).mean() > 0.9


def test_negative_features_are_rejected():
    with pytest.raises(ValueError, match="non-negative"):
        NBSVMClassifier().fit(np.array([[-1.0, 0.0], [1.0, 0.0]]), [0, 1])
