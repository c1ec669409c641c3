"""The lean inference path gives exactly the answers of scikit-learn's standard path."""

from __future__ import annotations

import copy

import numpy as np
import optuna
import pytest
from sklearn.pipeline import Pipeline

from textauto.components import BuildContext
from textauto.ensemble.classifier import EnsembleClassifier
from textauto.features import REPRESENTATIONS
from textauto.inference import predict_proba, share_equal_featurizers, softmax
from textauto.space.build import build_pipeline
from textauto.space.classifiers import CLASSIFIERS
from textauto.space.config import SpaceConfig

SPACE = SpaceConfig()


def built(representation: str, classifier: str, seed: int, n_classes: int) -> Pipeline:
    """A pipeline of this search-space branch, its other parameters drawn at random."""
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    study.enqueue_trial({"representation": representation, "classifier": classifier})
    ctx = BuildContext(probability=True, seed=seed, n_classes=n_classes)
    return build_pipeline(study.ask(), SPACE, ctx)


@pytest.fixture(scope="module")
def split(demo):
    texts, labels = demo
    X = np.asarray(texts, dtype=object)
    return X[:400], np.asarray(labels[:400]), X[400:]


@pytest.mark.parametrize("representation", sorted(REPRESENTATIONS))
def test_every_representation_predicts_as_scikit_learn_does(split, representation):
    X, y, new = split
    pipe = built(representation, "logreg", 1, len(set(y))).fit(X, y)
    assert np.array_equal(predict_proba(pipe, new), pipe.predict_proba(new))


@pytest.mark.parametrize("classifier", sorted(CLASSIFIERS))
def test_every_classifier_predicts_as_scikit_learn_does_one_text_or_many(split, classifier):
    X, y, new = split
    pipe = built("word+char", classifier, 2, len(set(y))).fit(X, y)
    expected = pipe.predict_proba(new)
    assert np.array_equal(predict_proba(pipe, new), expected)
    one_by_one = np.vstack([predict_proba(pipe, new[i : i + 1]) for i in range(len(new))])
    assert np.array_equal(one_by_one, expected)


def test_two_class_linear_models_predict_as_scikit_learn_does(split):
    X, y, new = split
    two = y == y[0]
    for classifier in ("linear_svc", "ridge", "sgd", "nbsvm", "logreg"):
        pipe = built("word", classifier, 3, 2).fit(X, two)
        assert np.array_equal(predict_proba(pipe, new[:1]), pipe.predict_proba(new[:1])), classifier
        assert np.array_equal(predict_proba(pipe, new), pipe.predict_proba(new)), classifier


def test_an_ensemble_with_shared_featurizers_answers_as_with_copies_and_text_by_text(split):
    """Members sharing one fitted featurizer transform once; the answers are those of members
    each with its own copy, whether texts come together or one at a time."""
    X, y, new = split
    members = [
        ("a", built("word+char", "linear_svc", 4, 3)),
        ("b", built("word+char", "ridge", 4, 3)),  # the same featurizer parameters as "a"
        ("c", built("spacy", "nbsvm", 5, 3)),
        ("d", built("char", "complement_nb", 6, 3)),
    ]
    ensemble = EnsembleClassifier(members, weights=[1, 2, 1, 1], temperatures=[0.5, 1, 2, 1]).fit(X, y)
    fitted = dict(ensemble.estimators_)
    assert fitted["a"][0] is fitted["b"][0]  # shared
    copies = copy.deepcopy(ensemble)
    copies.estimators_ = [(name, copy.deepcopy(model)) for name, model in ensemble.estimators_]
    assert copies.estimators_[0][1][0] is not copies.estimators_[1][1][0]
    expected = copies.predict_proba(new)
    assert np.array_equal(ensemble.predict_proba(new), expected)
    one_by_one = np.vstack([ensemble.predict_proba(new[i : i + 1]) for i in range(len(new))])
    assert np.allclose(one_by_one, expected, rtol=0, atol=1e-12)
    assert np.array_equal(ensemble.predict(new), ensemble.classes_[expected.argmax(axis=1)])


def test_featurizers_fitted_alike_in_several_members_become_one_with_the_same_answers(split):
    """A loaded bundle's members hold separate copies of equal featurizers; sharing them keeps
    every answer and leaves featurizers that differ apart."""
    X, y, new = split
    members = [("a", built("word+char", "linear_svc", 4, 3)), ("b", built("word+char", "ridge", 4, 3))]
    ensemble = EnsembleClassifier([*members, ("d", built("char", "complement_nb", 6, 3))]).fit(X, y)
    ensemble.estimators_ = [(name, copy.deepcopy(model)) for name, model in ensemble.estimators_]
    expected = ensemble.predict_proba(new)
    (_, a), (_, b), (_, d) = ensemble.estimators_
    assert a[0] is not b[0]

    assert share_equal_featurizers(ensemble) == 1
    assert a[0] is b[0] and d[0] is not a[0]
    assert np.array_equal(ensemble.predict_proba(new), expected)
    assert share_equal_featurizers(ensemble) == 0


def test_softmax_of_float32_scores_averages_to_probabilities_log_loss_accepts():
    """Out-of-fold scores are stored as float32; ten members weighted 1/10 each, all sure of the
    right class, summed to 1.0000001 in float32, which log_loss refuses."""
    from sklearn.metrics import log_loss

    scores = np.array([[30.0, 0.0], [0.0, 30.0]], dtype=np.float32)
    mix = sum(0.1 * softmax(scores) for _ in range(10))
    assert mix.max() <= 1.0
    assert log_loss([0, 1], mix, labels=[0, 1]) < 1e-6
