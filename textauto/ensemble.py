"""Greedy ensemble selection (Caruana et al. 2004) over the trials' out-of-fold predictions.

Every completed trial leaves its out-of-fold class scores (``OOFStore``). Each trial's scores
are turned into probabilities by a temperature fitted on them, then members are added one at a
time, with replacement, whichever most improves the validation metric of the averaged
probabilities. Whether the average, a stack (``textauto.stacking``) or the best single
pipeline is saved is decided on held-out folds of the out-of-fold rows.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from scipy.optimize import minimize_scalar
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from textauto.budget import refit_makespan
from textauto.inference import Memo, decision_function, featurize, lean
from textauto.metrics import Metric

LOG_FLOOR = -30.0  # score below a model's lowest, for a class it never saw
SCORE_LIMIT = 1e4  # clip infinite log-probabilities and runaway margins
LOG_CLIP = 1e-9  # smallest member probability a stacker sees (its log is a feature)
# Rows from which members' featurizers transform in threads: the refit's estimate counts the
# test rows' featurizing as parallel as the fit (20newsgroups at 7384f8b: 13.6 s predicting
# 7,532 posts one featurizer after the other, the run 11 s over its budget); a request of a
# few texts is not worth a thread pool.
PARALLEL_ROWS = 1000


def class_scores(model: Any, X: Any, classes: np.ndarray) -> np.ndarray:
    """An (n, len(classes)) float32 matrix of a fitted model's scores, columns in ``classes``.

    ``decision_function`` where the model has one (margins), else log-probabilities; a binary
    margin ``s`` becomes ``[0, s]`` so that a softmax gives back the sigmoid.
    """
    if hasattr(model, "decision_function"):
        raw = np.asarray(decision_function(model, X), dtype=np.float64)
        if raw.ndim == 1:
            raw = np.column_stack([np.zeros_like(raw), raw])
    elif hasattr(model, "predict_log_proba"):
        raw = np.asarray(model.predict_log_proba(X), dtype=np.float64)
    else:
        raw = np.log(np.clip(np.asarray(model.predict_proba(X), dtype=np.float64), 1e-12, None))
    raw = np.clip(np.nan_to_num(raw, nan=0.0), -SCORE_LIMIT, SCORE_LIMIT)
    # Each row less its largest score, before float32 (a softmax is blind to the shift): naive
    # Bayes on TF-IDF gives log-probabilities like -1.3862950 +- 1e-6, which float32 rounds
    # to ties, and its out-of-fold scores carried almost nothing to the ensemble.
    raw = raw - raw.max(axis=1, keepdims=True)
    own = np.asarray(model.classes_)
    if len(own) == len(classes) and np.array_equal(own, classes):
        return raw.astype(np.float32)
    out = np.full((raw.shape[0], len(classes)), raw.min() + LOG_FLOOR, dtype=np.float32)
    out[:, np.searchsorted(classes, own)] = raw
    return out


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def fit_temperature(scores: np.ndarray, y: np.ndarray) -> float:
    """The temperature T minimising the log loss of ``softmax(scores / T)`` (``y``: column indices).

    Searched relative to the scores' spread, so that any scale of scores is calibrated: naive
    Bayes' log-probabilities on TF-IDF differ by about 1e-6, and a fixed range stopped at its
    edge with the probabilities still uniform.
    """
    s = scores.astype(np.float64)
    spread = float(np.std(s - s.mean(axis=1, keepdims=True)))
    if not np.isfinite(spread) or spread == 0.0:
        return 1.0
    s = s / spread
    rows = np.arange(len(y))

    def nll(log_t: float) -> float:
        z = s / np.exp(log_t)
        z = z - z.max(axis=1, keepdims=True)
        return float(np.mean(np.log(np.exp(z).sum(axis=1)) - z[rows, y]))

    return float(np.exp(minimize_scalar(nll, bounds=(-7.0, 7.0), method="bounded").x)) * spread


def stack_features(probas: Sequence[np.ndarray]) -> np.ndarray:
    """The stacker's input: each member's log-probabilities, side by side."""
    return np.hstack([np.log(np.clip(p, LOG_CLIP, None)) for p in probas])


def stacked_proba(features: np.ndarray, coef: np.ndarray, intercept: np.ndarray) -> np.ndarray:
    z = features @ np.asarray(coef).T + np.asarray(intercept)
    if z.shape[1] == 1:  # two classes: the logit of the second
        z = np.column_stack([np.zeros(len(z)), z[:, 0]])
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


class OOFStore:
    """Out-of-fold scores per trial number, as ``.npy`` files shared by every worker of a run."""

    def __init__(self, directory: Path | None = None) -> None:
        self._tmp = None if directory is not None else tempfile.TemporaryDirectory(prefix="textauto-oof-")
        self.directory = Path(directory if directory is not None else self._tmp.name)
        self.directory.mkdir(parents=True, exist_ok=True)

    def _path(self, number: int) -> Path:
        return self.directory / f"trial-{number}.npy"

    def save(self, number: int, scores: np.ndarray) -> None:
        tmp = self.directory / f".trial-{number}.{os.getpid()}.npy"
        np.save(tmp, scores.astype(np.float32))
        os.replace(tmp, self._path(number))  # readers never see half a file

    def load(self, number: int) -> np.ndarray | None:
        try:
            return np.load(self._path(number))
        except (OSError, ValueError):
            return None

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()


@dataclass
class Candidate:
    """A completed trial with its calibrated out-of-fold probabilities and refit cost."""

    number: int
    params: dict[str, Any]
    proba: np.ndarray
    temperature: float
    refit_seconds: float  # featurizer and classifier
    feature_key: str = ""  # members with the same key share one fitted featurizer
    feature_seconds: float = 0.0  # the featurizer's part of refit_seconds


def makespan_with(c: Candidate, features: dict[str, float], classifiers: list[float], workers: int) -> float:
    """The members' refit (``refit_makespan``) once ``c`` joins them: ``features`` maps each
    distinct featurizer to its seconds (one shared with ``c`` counts once), ``classifiers``
    holds the members' classifier seconds."""
    with_c = {c.feature_key: c.feature_seconds, **features}
    return refit_makespan(list(with_c.values()), [*classifiers, c.refit_seconds - c.feature_seconds], workers)


@dataclass
class Selection:
    """The chosen members (trial number → times picked) and the validation scores."""

    counts: dict[int, int]
    score: float
    single_score: float
    path: list[float] = field(default_factory=list)

    @property
    def weights(self) -> dict[int, float]:
        total = sum(self.counts.values())
        return {n: c / total for n, c in self.counts.items()}


def greedy_selection(
    candidates: Sequence[Candidate],
    y: np.ndarray,
    classes: np.ndarray,
    metric: Metric,
    *,
    max_rounds: int = 25,
    refit_budget: float = float("inf"),
    workers: int = 1,
) -> Selection:
    """Caruana's forward selection with replacement; ``candidates[0]`` must be the best single.

    ``y`` holds the column index in ``classes`` of each out-of-fold row's true label.

    A candidate that would push the members' refit past ``refit_budget`` is not added: their
    featurizers, then their classifiers, on ``workers`` threads (``refit_makespan``; a
    featurizer shared with a member already in counts once). Ties on the metric go to the
    lower log loss, so no member is added for nothing.
    The returned selection is the best prefix of the path.
    """
    rows = np.arange(len(y))
    labels = classes[y]

    def key(proba: np.ndarray) -> tuple[float, float]:
        value = metric.from_proba(labels, proba, classes)
        sign = 1.0 if metric.direction == "maximize" else -1.0
        log_loss = float(-np.mean(np.log(np.clip(proba[rows, y], 1e-15, None))))
        return sign * value, -log_loss

    first = candidates[0]
    total = first.proba.astype(np.float64)
    counts: Counter[int] = Counter({first.number: 1})
    features = {first.feature_key: first.feature_seconds}  # distinct featurizers: fit once
    classifiers = [first.refit_seconds - first.feature_seconds]
    best_key = key(total)
    best_counts = dict(counts)
    single = metric.from_proba(labels, total, classes)
    path = [single]
    for _ in range(max_rounds - 1):
        n = sum(counts.values())
        choice = None
        for c in candidates:
            if c.number not in counts and makespan_with(c, features, classifiers, workers) > refit_budget:
                continue
            k = key((total + c.proba) / (n + 1))
            if choice is None or k > choice[0]:
                choice = (k, c)
        if choice is None:
            break
        k, c = choice
        if c.number not in counts:
            features.setdefault(c.feature_key, c.feature_seconds)
            classifiers.append(c.refit_seconds - c.feature_seconds)
        counts[c.number] += 1
        total = total + c.proba
        path.append(metric.from_proba(labels, total / (n + 1), classes))
        if k > best_key:
            best_key, best_counts = k, dict(counts)
    n = sum(best_counts.values())
    mix = sum(best_counts[c.number] * c.proba for c in candidates if c.number in best_counts) / n
    return Selection(best_counts, metric.from_proba(labels, mix, classes), single, path)


def select_ensemble(
    candidates: Sequence[Candidate],
    y: np.ndarray,
    classes: np.ndarray,
    metric: Metric,
    rounds: int,
    refit_budget: float,
    workers: int = 1,
) -> Selection:
    """Greedy selection from the best candidate; when that leaves it alone, from the others.

    A best pipeline with a long refit can leave no room for any member beside it; an ensemble
    of the others that validates better is then saved instead (sst2: a word+char NB-SVM whose
    refit crowded out every member scored 0.818 on test alone; an ensemble of four linear
    pipelines that validated 0.0003 higher scored 0.849). ``single_score`` stays the best
    candidate's.
    """
    kwargs = {"max_rounds": rounds, "refit_budget": refit_budget, "workers": workers}
    selection = greedy_selection(candidates, y, classes, metric, **kwargs)
    if len(selection.counts) > 1 or len(candidates) < 3:
        return selection
    others = greedy_selection(candidates[1:], y, classes, metric, **kwargs)
    if len(others.counts) > 1 and metric.better(others.score, selection.single_score):
        return replace(others, single_score=selection.single_score)
    return selection


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
        log-probabilities side by side (``textauto.stacking``), fitted on out-of-fold scores
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

    def fit(self, X: Any, y: Any) -> EnsembleClassifier:
        n = len(self.estimators)
        for label, values in (("weights", self.weights), ("temperatures", self.temperatures)):
            if values is not None and len(values) != n:
                raise ValueError(f"{label}: {len(values)} values for {n} estimators")
        if self.n_jobs is not None and self.n_jobs < 1:
            raise ValueError(f"EnsembleClassifier: n_jobs must be None or >= 1, got {self.n_jobs!r}")
        y = np.asarray(y)
        self.classes_ = np.unique(y)
        if (self.stack_coef is None) != (self.stack_intercept is None):
            raise ValueError("EnsembleClassifier: stack_coef and stack_intercept go together")
        if self.stack_coef is not None:
            k = len(self.classes_)
            expected = (1 if k == 2 else k, n * k)
            if np.shape(self.stack_coef) != expected or np.shape(self.stack_intercept) != expected[:1]:
                raise ValueError(
                    f"EnsembleClassifier: stack_coef has shape {np.shape(self.stack_coef)} and "
                    f"stack_intercept {np.shape(self.stack_intercept)}; {n} members of {k} classes "
                    f"need {expected} and {expected[:1]}"
                )
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
