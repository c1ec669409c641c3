"""``EnsembleClassifier``: the saved model when more than one pipeline is kept."""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import joblib
import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from textauto.inference import Memo, class_scores, featurize, lean, softmax

LOG_CLIP = 1e-9  # smallest member probability a stacker sees (its log is a feature)
# Rows from which members' featurizers transform in threads; a request of a few texts is not
# worth a thread pool (docs/design.md, "Ensembles").
PARALLEL_ROWS = 1000


def stack_features(probas: Sequence[np.ndarray]) -> np.ndarray:
    """The stacker's input: each member's log-probabilities, side by side."""
    return np.hstack([np.log(np.clip(p, LOG_CLIP, None)) for p in probas])


def stacked_proba(features: np.ndarray, coef: np.ndarray, intercept: np.ndarray) -> np.ndarray:
    z = features @ np.asarray(coef).T + np.asarray(intercept)
    if z.shape[1] == 1:  # two classes: the logit of the second
        z = np.column_stack([np.zeros(len(z)), z[:, 0]])
    return softmax(z)


class EnsembleClassifier(ClassifierMixin, BaseEstimator):
    """A weighted average of temperature-scaled member probabilities, or a stack over them.

    Parameters
    ----------
    estimators : list of (name, estimator) pairs; each is cloned and fitted on all the data.
    weights : one weight per member (normalised).
    temperatures : one per member; member probabilities are ``softmax(scores / T)``.
    n_jobs : threads fitting members (featurizers first, then classifiers); None means 1.
        liblinear, LightGBM and NgramTfidf's numpy work release the GIL.
    stack_coef, stack_intercept : when given, a logistic regression over the members'
        log-probabilities side by side (``textauto.ensemble.stacking``), fitted on out-of-fold scores
        and kept as it is by ``fit``; ``weights`` are then unused. Rows in ``classes_`` order
        (one row for two classes: the second's logit).
    """

    def __init__(
        self,
        estimators: Sequence[tuple[str, Any]],
        weights: Sequence[float] | None = None,
        temperatures: Sequence[float] | None = None,
        n_jobs: int | None = None,
        stack_coef: Any = None,
        stack_intercept: Any = None,
    ) -> None:
        self.estimators = estimators
        self.weights = weights
        self.temperatures = temperatures
        self.n_jobs = n_jobs
        self.stack_coef = stack_coef
        self.stack_intercept = stack_intercept

    def _check_params(self, n_classes: int) -> None:
        n = len(self.estimators)
        for label, values in (("weights", self.weights), ("temperatures", self.temperatures)):
            if values is not None and len(values) != n:
                raise ValueError(f"{label}: {len(values)} values for {n} estimators")
        if self.n_jobs is not None and self.n_jobs < 1:
            raise ValueError(f"EnsembleClassifier: n_jobs must be None or >= 1, got {self.n_jobs!r}")
        if (self.stack_coef is None) != (self.stack_intercept is None):
            raise ValueError("EnsembleClassifier: stack_coef and stack_intercept go together")
        if self.stack_coef is not None:
            k = n_classes
            expected = (1 if k == 2 else k, n * k)
            if np.shape(self.stack_coef) != expected or np.shape(self.stack_intercept) != expected[:1]:
                raise ValueError(
                    f"EnsembleClassifier: stack_coef has shape {np.shape(self.stack_coef)} and "
                    f"stack_intercept {np.shape(self.stack_intercept)}; {n} members of {k} classes "
                    f"need {expected} and {expected[:1]}"
                )

    def fit(self, X: Any, y: Any) -> EnsembleClassifier:
        n = len(self.estimators)
        y = np.asarray(y)
        self._check_params(len(np.unique(y)))
        self.classes_ = np.unique(y)
        # Members whose featurizing steps are equal share one fitted copy of them, in memory
        # and on disk (pickle keeps shared references), and transform once.
        keys = [  # each member's featurizing steps, hashed once (None: not a pipeline)
            joblib.hash(e.steps[:-1]) if isinstance(e, Pipeline) and len(e.steps) > 1 else None
            for _, e in self.estimators
        ]
        heads = {key: e.steps[:-1] for key, (_, e) in zip(keys, self.estimators, strict=True) if key}

        def fit_head(steps: list[tuple[str, Any]]) -> tuple[list[tuple[str, Any]], Any]:
            head = Pipeline([(name, clone(step)) for name, step in steps])
            return head.steps, head.fit_transform(X, y)

        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=self.n_jobs or 1) as pool:
            fitted_heads = dict(zip(heads, pool.map(fit_head, heads.values()), strict=True))
            featurized = time.monotonic()

            def fit_member(member: tuple[tuple[str, Any], str | None]) -> tuple[str, Any]:
                (name, estimator), key = member
                if key is None:
                    return name, clone(estimator).fit(X, y)
                steps, Xt = fitted_heads[key]
                last_name, last = estimator.steps[-1]
                return name, Pipeline([*steps, (last_name, clone(last).fit(Xt, y))])

            self.estimators_ = list(pool.map(fit_member, zip(self.estimators, keys, strict=True)))
        # seconds fitting the featurizers, then the classifiers: what the refit's price is checked by
        self.fit_seconds_ = (featurized - started, time.monotonic() - featurized)
        weights = np.ones(n) if self.weights is None else np.asarray(self.weights, dtype=np.float64)
        self.weights_ = weights / weights.sum()
        self.temperatures_ = np.ones(n) if self.temperatures is None else np.asarray(self.temperatures)
        return self

    def member_probas(self, X: Any) -> list[np.ndarray]:
        """Each member's temperature-scaled probabilities, columns in ``classes_``.

        Along the lean path (``textauto.inference``): a featurizer shared by members transforms
        once; on ``PARALLEL_ROWS`` rows or more, the distinct ones transform in ``n_jobs``
        threads, as they fit.
        """
        check_is_fitted(self)
        models = [model for _, model in self.estimators_]
        heads = {}  # one member per distinct featurizing, by the identity of its steps
        for model in models:
            heads.setdefault(_head_key(model), model)
        threads = min(self.n_jobs or 1, len(heads)) if len(X) >= PARALLEL_ROWS else 1
        with lean():
            memo: Memo = {}
            if threads > 1:
                with ThreadPoolExecutor(max_workers=threads) as pool:
                    done = pool.map(lambda m: featurize(m, X, {}), heads.values())
                    features = {key: Xt for key, (_, Xt) in zip(heads, done, strict=True)}
            else:
                features = {key: featurize(m, X, memo)[1] for key, m in heads.items()}
            out = []
            for model, t in zip(models, self.temperatures_, strict=True):
                key = _head_key(model)
                scores = class_scores(model if key is None else model[-1], features[key], self.classes_)
                out.append(softmax(scores.astype(np.float64) / t))
        return out

    def predict_proba(self, X: Any) -> np.ndarray:
        probas = self.member_probas(X)
        if self.stack_coef is not None:
            return stacked_proba(stack_features(probas), self.stack_coef, self.stack_intercept)
        return sum(w * p for w, p in zip(self.weights_, probas, strict=True))

    def predict(self, X: Any) -> np.ndarray:
        return self.classes_[self.predict_proba(X).argmax(axis=1)]


def _head_key(model: Any) -> tuple[int, ...] | None:
    """The identity of a pipeline's featurizing steps; None for a model that is not a pipeline
    (its features are the texts)."""
    if isinstance(model, Pipeline) and len(model.steps) > 1:
        return tuple(id(step) for _, step in model.steps[:-1])
    return None
