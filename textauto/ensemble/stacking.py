"""Stacking, and the cross-validated choice of how the best trials are combined.

Greedy selection (``textauto.ensemble.greedy``) picks its members and their weights on the same
out-of-fold rows it is then scored on, and so does the best single trial: on a few thousand
rows both scores run high by about the spread of the leaders. The choice between the best
pipeline, greedy averaging and stacking (a logistic regression over the members' out-of-fold
log-probabilities, Wolpert 1992) is therefore made on held-out folds of the out-of-fold rows:
each combiner is fitted on four fifths and scored on the fifth.

Stacking's members are the best trial of each representation and classifier pair: diverse
members are what a stacker can weigh per class (trec6: 0.922 on test against 0.916 for the
greedy average and for the best pipeline, the choice made on held-out folds).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from textauto.config import STACK_MEMBERS
from textauto.ensemble.classifier import stack_features, stacked_proba
from textauto.ensemble.greedy import Candidate, Selection, makespan_with, select_ensemble
from textauto.space.build import pipeline_kind
from textauto.validation.metrics import Metric

STACK_C = (0.03, 0.3)  # regularisation of the stacker, chosen on the held-out folds
CHOICE_FOLDS = 5
# Stacking is tried only when rows x members x classes³ stays under this: the stacker's
# inputs and outputs grow with members x classes and classes, and lbfgs needs more passes with
# more classes (trec6, 5,452 rows x 8 members x 6 classes: 3 s for the whole choice;
# 20newsgroups' holdout, 2,263 rows x 3-5 members x 20 classes: 25-36 s, 30 s over the budget,
# where the stack scored 0.934 on held-out folds against 0.944 for the greedy average).
STACK_MAX_CELLS = 16_000_000


@dataclass(frozen=True)
class Stacker:
    """A fitted multinomial logistic regression over ``stack_features``, as plain arrays."""

    coef: np.ndarray  # (n_classes, n_features), or (1, n_features) for two classes
    intercept: np.ndarray
    C: float

    def proba(self, probas: Sequence[np.ndarray]) -> np.ndarray:
        return stacked_proba(stack_features(probas), self.coef, self.intercept)


def fit_stacker(probas: Sequence[np.ndarray], y: np.ndarray, n_classes: int, C: float) -> Stacker | None:
    """The stacker on ``probas`` (one matrix per member) and ``y`` (column indices); None
    when a class is missing from ``y``, whose column it could not score."""
    if len(np.unique(y)) < n_classes:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = LogisticRegression(C=C, max_iter=300).fit(stack_features(probas), y)
    return Stacker(model.coef_.copy(), model.intercept_.copy(), C)


def diverse_members(
    candidates: Sequence[Candidate], refit_budget: float, workers: int, k: int = STACK_MEMBERS
) -> list[Candidate]:
    """The best candidate of each representation and classifier pair, best first, while the
    members' refit fits in ``refit_budget`` (``candidates[0]`` always comes first)."""
    members: list[Candidate] = []
    kinds: set[tuple[str, str]] = set()
    features: dict[str, float] = {}
    classifiers: list[float] = []
    for c in candidates:
        kind = pipeline_kind(c.params)
        if kind in kinds or (members and makespan_with(c, features, classifiers, workers) > refit_budget):
            continue
        members.append(c)
        kinds.add(kind)
        features.setdefault(c.feature_key, c.feature_seconds)
        classifiers.append(c.refit_seconds - c.feature_seconds)
        if len(members) == k:
            break
    return members


@dataclass
class Combination:
    """How the saved model combines trials: ``kind`` is "single", "average" or "stack"."""

    kind: str
    members: list[Candidate]
    weights: dict[int, float]  # trial number → weight in the average (stack: 1/n each)
    score: float  # the held-out folds' mean score of this kind
    scores: dict[str, float] = field(default_factory=dict)  # every kind tried → the same
    single_score: float = float("nan")  # the best trial's on all the out-of-fold rows
    stacker: Stacker | None = None
    selection: Selection | None = None  # greedy selection's own (in-sample) path


def _subset(candidates: Sequence[Candidate], rows: np.ndarray) -> list[Candidate]:
    return [replace(c, proba=c.proba[rows]) for c in candidates]


def choose_combination(
    candidates: Sequence[Candidate],
    y: np.ndarray,
    classes: np.ndarray,
    metric: Metric,
    rounds: int,
    refit_budget: float,
    workers: int = 1,
    seed: int = 0,
) -> Combination:
    """The best pipeline alone, a greedy average or a stack: whichever scores best on held-out
    folds of the out-of-fold rows (ties go to the simpler), fitted on all of them.

    ``candidates[0]`` must be the best single trial; ``y`` holds column indices in ``classes``.
    """
    # column indices stand in for the labels: scikit-learn's metrics run 3x faster on them
    # (greedy selection on 20newsgroups' holdout: 0.10 s against 0.30 s), and the choice runs six
    classes = np.arange(len(classes))

    def score(proba: np.ndarray, rows: np.ndarray) -> float:
        return metric.from_proba(y[rows], proba, classes)

    single = candidates[0]
    stack_members = diverse_members(candidates, refit_budget, workers)
    kinds = ["single"]
    if rounds > 1 and len(candidates) > 1:
        kinds.append("average")
    cells = len(y) * len(stack_members) * len(classes) ** 3
    if rounds > 1 and len(stack_members) > 1 and cells <= STACK_MAX_CELLS:
        kinds += [f"stack:{C}" for C in STACK_C]
    if len(kinds) == 1:
        return Combination("single", [single], {single.number: 1.0}, float("nan"))
    held: dict[str, list[float]] = {kind: [] for kind in kinds}
    folds = StratifiedKFold(CHOICE_FOLDS, shuffle=True, random_state=seed)
    with warnings.catch_warnings():  # a class with fewer rows than folds: still split
        warnings.simplefilter("ignore", UserWarning)
        splits = list(folds.split(y, y))
    for train, test in splits:
        fold = _subset(candidates, train)
        # the best single pipeline as chosen on this fold's training rows
        best = max(range(len(fold)), key=lambda i: _signed(metric, score(fold[i].proba, train)))
        held["single"].append(score(candidates[best].proba[test], test))
        if "average" in held:
            chosen = select_ensemble(fold, y[train], classes, metric, rounds, refit_budget, workers)
            weights = chosen.weights
            mix = sum(w * c.proba[test] for c in candidates if (w := weights.get(c.number)) is not None)
            held["average"].append(score(mix, test))
        for C in STACK_C:
            if f"stack:{C}" not in held:
                continue
            stacker = fit_stacker([c.proba[train] for c in stack_members], y[train], len(classes), C)
            # a fold missing a class cannot be stacked: score it as the best single
            proba = (
                candidates[best].proba[test]
                if stacker is None
                else stacker.proba([c.proba[test] for c in stack_members])
            )
            held[f"stack:{C}"].append(score(proba, test))
    means = {kind: float(np.mean(values)) for kind, values in held.items()}
    kind = "single"
    for k in kinds[1:]:  # in order of complexity: a later kind must do strictly better
        if metric.better(means[k], means[kind]):
            kind = k
    common = {"scores": means, "single_score": score(single.proba, np.arange(len(y)))}
    if kind == "average":
        selection = select_ensemble(candidates, y, classes, metric, rounds, refit_budget, workers)
        if len(selection.counts) > 1:
            members = [c for c in candidates if c.number in selection.counts]
            weights = selection.weights
            return Combination("average", members, weights, means[kind], selection=selection, **common)
    if kind.startswith("stack:"):
        stacker = fit_stacker([c.proba for c in stack_members], y, len(classes), float(kind[len("stack:") :]))
        if stacker is not None:
            weights = {c.number: 1.0 / len(stack_members) for c in stack_members}
            return Combination("stack", stack_members, weights, means[kind], stacker=stacker, **common)
    return Combination("single", [single], {single.number: 1.0}, means["single"], **common)


def _signed(metric: Metric, value: float) -> float:
    return value if metric.direction == "maximize" else -value
