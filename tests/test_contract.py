"""Our own estimator contract suite (sklearn's check_estimator skips 1-D text input).

Run over every featurizer and classifier we register, NB-SVM, SpacyTokens and AutoTextClassifier.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import Pipeline

from textauto import AutoTextClassifier
from textauto.bundle.model_file import build_model, dump_model
from textauto.components import BuildContext
from textauto.features import FEATURIZERS, SpacyTokens
from textauto.params import Range
from textauto.space.classifiers import CLASSIFIERS
from textauto.space.nbsvm import NBSVMClassifier

TEXTS = [
    "refund my double charge please", "the app crashes on login", "parcel arrived damaged",
    "invoice shows the wrong VAT", "cannot log in since the update", "where is my package",
    "charged twice for one order", "error 500 when saving", "delivery is three days late",
    "please send a refund", "page loads forever", "tracking number does not work",
]  # fmt: skip
LABELS = ["billing", "technical", "shipping"] * 4


def first_value(spec):
    return spec.low if isinstance(spec, Range) else spec[0] if isinstance(spec, list) else spec


def featurizer(name: str):
    comp = FEATURIZERS[name]
    return comp.build({k: first_value(v) for k, v in comp.space.items()}, BuildContext())


def classifier(name: str):
    comp = CLASSIFIERS[name]
    est = comp.build({k: first_value(v) for k, v in comp.space.items()}, BuildContext(probability=True))
    return Pipeline([("features", featurizer("word")), ("clf", est)])


CASES = {
    **{f"featurizer:{n}": (lambda n=n: featurizer(n)) for n in FEATURIZERS},
    **{f"classifier:{n}": (lambda n=n: classifier(n)) for n in CLASSIFIERS},
    "SpacyTokens": lambda: SpacyTokens(lemmatize=True, remove_stop=True),
    "NBSVMClassifier": lambda: Pipeline([("f", featurizer("word")), ("clf", NBSVMClassifier(C=2.0))]),
}


def output(est, X):
    if hasattr(est, "predict_proba"):
        return np.asarray(est.predict_proba(X))
    if hasattr(est, "predict"):
        return np.asarray(est.predict(X))
    out = est.transform(X)
    return out.toarray() if hasattr(out, "toarray") else np.asarray(out)


@pytest.mark.parametrize("name", list(CASES))
def test_contract(name, tmp_path):
    est = CASES[name]()
    X, y = list(TEXTS), list(LABELS)
    # clone keeps the parameters, not the fitted state
    twin = clone(est)
    assert twin.get_params().keys() == est.get_params().keys()
    # get/set_params round trip
    twin.set_params(**est.get_params(deep=False))
    assert repr(twin.get_params(deep=False)) == repr(est.get_params(deep=False))
    # not fitted -> NotFittedError
    with pytest.raises(NotFittedError):
        output(clone(est), X)
    # fit returns self
    assert est.fit(X, y) is est
    first = output(est, X)
    # pickle round trip predicts the same
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(output(again, X), first)
    # the safe format rebuilds it from data alone, with textauto's allowlist of types
    saved = tmp_path / "model.skops"
    dump_model(est, saved, compress=True)
    np.testing.assert_array_equal(output(build_model(saved.read_bytes(), saved), X), first)
    # same parameters (and seed) -> same result
    np.testing.assert_array_equal(output(clone(est).fit(X, y), X), first)


def test_auto_text_classifier_contract(demo):
    texts, labels = demo
    texts, labels = texts[:200], labels[:200]
    est = AutoTextClassifier(n_trials=3, seed=1, config={"space": {"representations": ["word"]}})
    assert clone(est).get_params() == est.get_params()
    est.set_params(**est.get_params())
    with pytest.raises(NotFittedError):
        est.predict(texts[:2])
    assert est.fit(texts, labels) is est
    pred = est.predict(texts)
    assert list(est.classes_) == sorted(set(labels))
    assert est.predict_proba(texts[:5]).shape == (5, len(est.classes_))
    assert 0.0 <= est.score(texts, labels) <= 1.0
    assert est.best_params_["representation"] == "word"
    assert sum(t.state.is_finished() for t in est.study_.trials) == 3
    restored = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(restored.predict(texts), pred)
    again = clone(est).fit(texts, labels)
    assert again.best_params_ == est.best_params_
    np.testing.assert_array_equal(again.predict(texts), pred)


def test_constructors_only_store_arguments():
    est = AutoTextClassifier(metric="not-a-metric", time_budget=-5)
    assert est.metric == "not-a-metric"  # validated in fit, not in __init__
    nb = NBSVMClassifier(alpha=-1)
    with pytest.raises(ValueError, match="NBSVMClassifier: alpha must be > 0, got -1"):
        nb.fit(np.ones((2, 2)), [0, 1])
