"""Stacking, and the cross-validated choice of how the best trials are combined.

Greedy selection (``textauto.ensemble.greedy``) picks its members and their weights on the same
out-of-fold rows it is then scored on, and so does the best single trial: on a few thousand
rows both scores run high by about the spread of the leaders. The choice between the best
pipeline, greedy averaging and stacking (a logistic regression over the members' out-of-fold
log-probabilities, Wolpert 1992) is therefore made on held-out folds of the out-of-fold rows:
each combiner is fitted on four fifths and scored on the fifth.

Stacking's members are the best trial of each representation and classifier pair: diverse
members are what a stacker can weigh per class. See docs/design.md, "Ensembles".
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum

import numpy as np
from sklearn import metrics as skm
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from textauto.config import STACK_MEMBERS
from textauto.ensemble.classifier import stack_features, stacked_proba
from textauto.ensemble.greedy import Candidate, Selection, makespan_with, members_makespan, select_ensemble
from textauto.space.build import pipeline_kind
from textauto.validation.metrics import Metric, within_one_se

STACK_C = (0.03, 0.3)  # regularisation of the stacker, chosen on the held-out folds
CHOICE_FOLDS = 5
# Stacking is tried only while rows x members x classes³ stays under this: the stacker's fits
# grow with members x classes, and lbfgs needs more passes with more classes.
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


class Combiner(StrEnum):
    """How the saved model combines the best trials, simplest first."""

    SINGLE = "single"  # the best pipeline alone
    AVERAGE = "average"  # greedy selection's weighted average
    STACK = "stack"  # a logistic regression over the members' log-probabilities


@dataclass(frozen=True)
class Choice:
    """A combiner with its setting (a stacker's regularisation ``C``), as compared on held-out
    folds; ``str`` gives the name the manifest keeps its score under ("stack:0.03")."""

    combiner: Combiner
    C: float | None = None

    def __str__(self) -> str:
        return f"{self.combiner}:{self.C}" if self.C is not None else str(self.combiner)


@dataclass
class HeldOut:
    """A choice's scores on the held-out folds, and its log loss there (the tie-break)."""

    scores: list[float] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)

    @property
    def mean(self) -> float:
        return float(np.mean(self.scores))

    @property
    def loss(self) -> float:
        return float(np.mean(self.losses))


@dataclass
class Combination:
    """How the saved model combines trials."""

    kind: Combiner
    members: list[Candidate]
    weights: dict[int, float]  # trial number → weight in the average (stack: 1/n each)
    score: float  # the held-out folds' mean score of this kind
    scores: dict[str, float] = field(default_factory=dict)  # every choice tried (``str(Choice)``) → the same
    single_score: float = float("nan")  # the best trial's on all the out-of-fold rows
    in_sample: float = float("nan")  # this combination's on the out-of-fold rows it was fitted on
    stacker: Stacker | None = None
    selection: Selection | None = None  # greedy selection's own (in-sample) path

    def refit_seconds(self, workers: int) -> float:
        """The members' refit on ``workers`` threads, as priced (``RefitPrice.makespan``)."""
        return members_makespan(self.members, workers)


def _subset(candidates: Sequence[Candidate], rows: np.ndarray) -> list[Candidate]:
    return [replace(c, proba=c.proba[rows]) for c in candidates]


@dataclass(frozen=True)
class Chooser:
    """Compares the combiners on held-out folds of the out-of-fold rows and fits the winner.

    ``candidates[0]`` must be the best single trial; ``y`` holds column indices (scikit-learn's
    metrics run 3x faster on them than on labels).
    """

    candidates: Sequence[Candidate]
    y: np.ndarray
    n_classes: int
    metric: Metric
    rounds: int
    refit_budget: float
    workers: int

    @property
    def classes(self) -> np.ndarray:
        return np.arange(self.n_classes)

    def score(self, proba: np.ndarray, rows: np.ndarray) -> float:
        return self.metric.from_proba(self.y[rows], proba, self.classes)

    def select(self, candidates: Sequence[Candidate], rows: np.ndarray) -> Selection:
        args = (self.classes, self.metric, self.rounds, self.refit_budget, self.workers)
        return select_ensemble(candidates, self.y[rows], *args)

    def choices(self, stack_members: Sequence[Candidate]) -> list[Choice]:
        """The combiners worth comparing, simplest first."""
        out = [Choice(Combiner.SINGLE)]
        if self.rounds > 1 and len(self.candidates) > 1:
            out.append(Choice(Combiner.AVERAGE))
        cells = len(self.y) * len(stack_members) * self.n_classes**3
        if self.rounds > 1 and len(stack_members) > 1 and cells <= STACK_MAX_CELLS:
            out += [Choice(Combiner.STACK, C) for C in STACK_C]
        return out

    def held_out(
        self, choices: Sequence[Choice], stack_members: Sequence[Candidate], seed: int
    ) -> dict[Choice, HeldOut]:
        """Each choice's scores on the held-out folds, fitted on the other folds."""
        held = {choice: HeldOut() for choice in choices}
        folds = StratifiedKFold(CHOICE_FOLDS, shuffle=True, random_state=seed)
        with warnings.catch_warnings():  # a class with fewer rows than folds: still split
            warnings.simplefilter("ignore", UserWarning)
            splits = list(folds.split(self.y, self.y))
        for train, test in splits:
            fold = _subset(self.candidates, train)
            # the best single pipeline as chosen on this fold's training rows
            best = max(range(len(fold)), key=lambda i: _signed(self.metric, self.score(fold[i].proba, train)))
            fallback = self.candidates[best].proba[test]
            for choice in choices:
                proba = self._held_proba(choice, fold, stack_members, train, test, fallback)
                held[choice].scores.append(self.score(proba, test))
                held[choice].losses.append(skm.log_loss(self.y[test], proba, labels=self.classes))
        return held

    def _held_proba(
        self,
        choice: Choice,
        fold: Sequence[Candidate],
        stack_members: Sequence[Candidate],
        train: np.ndarray,
        test: np.ndarray,
        best: np.ndarray,
    ) -> np.ndarray:
        """``choice`` fitted on the ``train`` rows, predicting the ``test`` rows (``best``: the
        fold's best single pipeline's, also what a fold missing a class cannot stack)."""
        if choice.combiner is Combiner.AVERAGE:
            weights = self.select(fold, train).weights
            return sum(w * c.proba[test] for c in self.candidates if (w := weights.get(c.number)) is not None)
        if choice.combiner is Combiner.STACK:
            stacker = fit_stacker(
                [c.proba[train] for c in stack_members], self.y[train], self.n_classes, choice.C
            )
            return best if stacker is None else stacker.proba([c.proba[test] for c in stack_members])
        return best

    def fit(
        self, choice: Choice, stack_members: Sequence[Candidate], means: dict[Choice, float]
    ) -> Combination:
        """``choice`` fitted on all the out-of-fold rows; the best single when it leaves one
        member (or cannot be stacked)."""
        everything = np.arange(len(self.y))
        single = self.candidates[0]
        single_score = self.score(single.proba, everything)
        common = {"scores": {str(c): score for c, score in means.items()}, "single_score": single_score}
        if choice.combiner is Combiner.AVERAGE:
            selection = self.select(self.candidates, everything)
            if len(selection.counts) > 1:
                members = [c for c in self.candidates if c.number in selection.counts]
                score = means[choice]
                return Combination(
                    Combiner.AVERAGE, members, selection.weights, score, selection=selection,
                    in_sample=selection.score, **common,
                )  # fmt: skip
        if choice.combiner is Combiner.STACK:
            stacker = fit_stacker([c.proba for c in stack_members], self.y, self.n_classes, choice.C)
            if stacker is not None:
                weights = {c.number: 1.0 / len(stack_members) for c in stack_members}
                score = means[choice]
                in_sample = self.score(stacker.proba([c.proba for c in stack_members]), everything)
                return Combination(
                    Combiner.STACK, list(stack_members), weights, score, stacker=stacker,
                    in_sample=in_sample, **common,
                )  # fmt: skip
        score = means[Choice(Combiner.SINGLE)]
        return Combination(
            Combiner.SINGLE, [single], {single.number: 1.0}, score, in_sample=single_score, **common
        )


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
    folds of the out-of-fold rows, fitted on all of them. Between ensembles a later (more
    complex) one must do strictly better, except that a stack takes an average's equal score;
    the single pipeline must beat them beyond the noise (``settle_ties``), and a stack must beat
    the average beyond it (``prefer_average``).

    ``candidates[0]`` must be the best single trial; ``y`` holds column indices in ``classes``.
    """
    chooser = Chooser(candidates, y, len(classes), metric, rounds, refit_budget, workers)
    stack_members = diverse_members(candidates, refit_budget, workers)
    choices = chooser.choices(stack_members)
    single = candidates[0]
    if len(choices) == 1:
        return Combination(Combiner.SINGLE, [single], {single.number: 1.0}, float("nan"))
    held = chooser.held_out(choices, stack_members, seed)
    means = {choice: h.mean for choice, h in held.items()}
    chosen = choices[0]
    for choice in choices[1:]:  # in order of complexity: a later one must do strictly better,
        # but a stack takes an average's equal score (the average's loss is no guide: settle_ties)
        stack_ties = choice.combiner is Combiner.STACK and chosen.combiner is Combiner.AVERAGE
        if metric.better(means[choice], means[chosen]) or (stack_ties and means[choice] == means[chosen]):
            chosen = choice
    return chooser.fit(prefer_average(settle_ties(chosen, held, metric), held, metric), stack_members, means)


def settle_ties(chosen: Choice, held: dict[Choice, HeldOut], metric: Metric) -> Choice:
    """Keep the single pipeline only when it beats every ensemble by more than one standard
    error of their paired difference over the held-out folds; else take the best ensemble
    within that noise (by score, then a stack before an average, then log loss). On few rows,
    or where many pipelines validate perfectly, the single best is as much luck as merit, and
    an ensemble of the leaders generalizes better. Log loss cannot part equal scores in favour
    of the average: its members' temperatures were fitted on these rows, and where they
    separate them perfectly the temperatures reach their sharpest bound (docs/design.md,
    "Ensembles")."""
    if chosen.combiner is not Combiner.SINGLE:
        return chosen
    tied = [
        c for c in held if c.combiner is not Combiner.SINGLE and within_noise(held[chosen], held[c], metric)
    ]
    if not tied:
        return chosen
    return max(
        tied,
        key=lambda c: (_signed(metric, held[c].mean), c.combiner is Combiner.STACK, -held[c].loss),
    )


def prefer_average(chosen: Choice, held: dict[Choice, HeldOut], metric: Metric) -> Choice:
    """The greedy average instead of a stack that scores higher only within one standard error
    of their paired difference over the held-out folds. The stacker weighs each member's
    log-probabilities per class as they were out of fold; refit on all rows, a member can shift
    (a class weighting that validated well and fails on new data), and the stack follows it
    where the average only dilutes it (docs/design.md, "Ensembles"). Equal scores keep the
    stack: they come from folds every ensemble gets perfectly right, where the greedy average
    stops at one pipeline."""
    average = Choice(Combiner.AVERAGE)
    if chosen.combiner is not Combiner.STACK or average not in held:
        return chosen
    stack, avg = held[chosen], held[average]
    if metric.better(stack.mean, avg.mean) and within_noise(stack, avg, metric):
        return average
    return chosen


def within_noise(best: HeldOut, other: HeldOut, metric: Metric) -> bool:
    """Whether ``best`` leads ``other`` by at most one standard error of their paired
    difference over the held-out folds."""
    if len(best.scores) != len(other.scores):
        raise ValueError(f"paired scores differ in length: {len(best.scores)} and {len(other.scores)}")
    if len(best.scores) < 2:
        return False
    sign = 1.0 if metric.direction == "maximize" else -1.0
    return bool(within_one_se(sign * np.asarray(best.scores), sign * np.asarray(other.scores)))


def _signed(metric: Metric, value: float) -> float:
    return value if metric.direction == "maximize" else -value
