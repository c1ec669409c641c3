"""The final refit: a linear SVM stopped at its pass cap is refit quietly, as it was validated."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.svm import LinearSVC

from textauto import AutoTextClassifier
from textauto.classifiers import LINEAR_SVC_MAX_ITER
from textauto.features.ngrams import NgramTfidf

# Random words under random labels: liblinear needs far more than LINEAR_SVC_MAX_ITER passes.
_rng = np.random.default_rng(0)
TEXTS = [" ".join(_rng.choice([f"w{i}" for i in range(30)], 6)) for _ in range(300)]
LABELS = list(_rng.choice(["a", "b", "c"], 300))
WORD = {
    "ngram_max": 2, "min_df": 1, "max_df": 1.0, "sublinear_tf": False, "max_features": 0,
    "lowercase": True, "strip_accents": "none", "stop_words": False,
}  # fmt: skip
HIGH_C = {
    "space": {
        "representations": ["word"],
        "classifiers": ["linear_svc"],
        "word": WORD,
        "linear_svc": {"C": 10.0, "class_weight": "none"},
    },
    "search": {"warm_start": False, "ensemble_size": 0},
}


def test_the_capped_svm_does_not_converge_on_this_data():
    """Guards the test below: without the silencing, this data does warn."""
    X = NgramTfidf(ngram_range=(1, 2)).fit_transform(TEXTS)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        LinearSVC(C=10.0, max_iter=LINEAR_SVC_MAX_ITER).fit(X, LABELS)
    assert any(issubclass(w.category, ConvergenceWarning) for w in caught)


def test_refit_of_a_capped_svm_prints_no_convergence_warning():
    est = AutoTextClassifier(n_trials=1, seed=0, config=HIGH_C)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit(TEXTS, LABELS)
    svc = est.model_.estimators[0][1].named_steps["clf"]
    assert svc.C == 10.0 and svc.max_iter == LINEAR_SVC_MAX_ITER
    assert not [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    assert est.predict(TEXTS[:3]).shape == (3,)
