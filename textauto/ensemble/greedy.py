"""Greedy ensemble selection (Caruana et al. 2004) over the trials' out-of-fold predictions.

Every completed trial leaves its out-of-fold class scores (``OOFStore``). Each trial's scores
are turned into probabilities by a temperature fitted on them, then members are added one at a
time, with replacement, whichever most improves the validation metric of the averaged
probabilities. Whether the average, a stack (``textauto.ensemble.stacking``) or the best single
pipeline is saved is decided on held-out folds of the out-of-fold rows.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from scipy.optimize import minimize_scalar

from textauto.cost.refit import RefitPrice
from textauto.validation.metrics import Metric


def fit_temperature(scores: np.ndarray, y: np.ndarray) -> float:
    """The temperature T minimising the log loss of ``softmax(scores / T)`` (``y``: column indices).

    Searched relative to the scores' spread, so that any scale of scores is calibrated (naive
    Bayes' log-probabilities on TF-IDF differ by about 1e-6).
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
    share: float = 1.0  # of each fold's training rows the trial was validated on


def makespan_with(c: Candidate, features: dict[str, float], classifiers: list[float], workers: int) -> float:
    """The members' refit (``RefitPrice.makespan``) once ``c`` joins them: ``features`` maps each
    distinct featurizer to its seconds (one shared with ``c`` counts once), ``classifiers``
    holds the members' classifier seconds."""
    with_c = {c.feature_key: c.feature_seconds, **features}
    price = RefitPrice(train_fraction=1.0, workers=workers)  # candidates hold their refit seconds
    return price.makespan(list(with_c.values()), [*classifiers, c.refit_seconds - c.feature_seconds])


def members_makespan(members: Sequence[Candidate], workers: int) -> float:
    """The refit of ``members`` (``RefitPrice.makespan``), each distinct featurizer once."""
    features = {c.feature_key: c.feature_seconds for c in members}
    classifiers = [c.refit_seconds - c.feature_seconds for c in members]
    return RefitPrice(train_fraction=1.0, workers=workers).makespan(list(features.values()), classifiers)


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
    featurizers, then their classifiers, on ``workers`` threads (``RefitPrice.makespan``; a
    featurizer shared with a member already in counts once). Ties on the metric go to the
    lower log loss, so no member is added for nothing.
    The returned selection is the best prefix of the path.
    """
    rows = np.arange(len(y))
    labels = classes[y]
    sign = 1.0 if metric.direction == "maximize" else -1.0

    def key(proba: np.ndarray) -> tuple[float, float]:
        log_loss = float(-np.mean(np.log(np.clip(proba[rows, y], 1e-15, None))))
        return sign * metric.from_proba(labels, proba, classes), -log_loss

    first = candidates[0]
    total = first.proba.astype(np.float64)
    counts: Counter[int] = Counter({first.number: 1})
    refit = _Refit(
        workers, {first.feature_key: first.feature_seconds}, [first.refit_seconds - first.feature_seconds]
    )
    best_key, best_counts = key(total), dict(counts)
    single = metric.from_proba(labels, total, classes)
    path = [single]
    for _ in range(max_rounds - 1):
        n = sum(counts.values())
        affordable = [c for c in candidates if c.number in counts or refit.with_(c) <= refit_budget]
        if not affordable:
            break
        k, c = max(((key((total + c.proba) / (n + 1)), c) for c in affordable), key=lambda kc: kc[0])
        if c.number not in counts:
            refit.add(c)
        counts[c.number] += 1
        total = total + c.proba
        path.append(metric.from_proba(labels, total / (n + 1), classes))
        if k > best_key:
            best_key, best_counts = k, dict(counts)
    n = sum(best_counts.values())
    mix = sum(best_counts[c.number] * c.proba for c in candidates if c.number in best_counts) / n
    return Selection(best_counts, metric.from_proba(labels, mix, classes), single, path)


@dataclass
class _Refit:
    """The members' refit so far: each distinct featurizer's seconds, each classifier's."""

    workers: int
    features: dict[str, float]
    classifiers: list[float]

    def with_(self, c: Candidate) -> float:
        return makespan_with(c, self.features, self.classifiers, self.workers)

    def add(self, c: Candidate) -> None:
        self.features.setdefault(c.feature_key, c.feature_seconds)
        self.classifiers.append(c.refit_seconds - c.feature_seconds)


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
    of the others that validates better is then saved instead (docs/design.md, "Ensembles").
    ``single_score`` stays the best candidate's.
    """
    kwargs = {"max_rounds": rounds, "refit_budget": refit_budget, "workers": workers}
    selection = greedy_selection(candidates, y, classes, metric, **kwargs)
    if len(selection.counts) > 1 or len(candidates) < 3:
        return selection
    others = greedy_selection(candidates[1:], y, classes, metric, **kwargs)
    if len(others.counts) > 1 and metric.better(others.score, selection.single_score):
        return replace(others, single_score=selection.single_score)
    return selection
