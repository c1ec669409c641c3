"""The final model: an average or a stack of the best trials when it validates better, else the best one.

Refit on all the training data within the time the search left for it.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
from optuna.trial import FrozenTrial, TrialState
from sklearn.exceptions import ConvergenceWarning

from textauto.components import BuildContext
from textauto.config import RunConfig
from textauto.cost.clock import Clock
from textauto.cost.refit import AFFORD_SLACK, RefitPrice
from textauto.ensemble.classifier import EnsembleClassifier
from textauto.ensemble.greedy import Candidate, fit_temperature
from textauto.ensemble.recipe import OOFPredictions, Recipe, member_proba
from textauto.ensemble.stacking import Combination, Combiner, choose_combination
from textauto.search.oof import OOFStore
from textauto.search.ranking import leading_trials, ranked_trials
from textauto.search.records import TrialRecord
from textauto.search.run import SearchResult
from textauto.search.workers import resolve_n_jobs
from textauto.space.build import featurizer_key
from textauto.validation.metrics import METRICS, Metric, SelectionCheck, bootstrap_se
from textauto.validation.splits import ValidationPlan

MAX_CANDIDATES = 20  # best completed trials considered for the ensemble, beside the best of each kind


@dataclass
class FinalModel:
    estimator: Any  # a Pipeline, or an EnsembleClassifier of pipelines
    validation_score: float
    # members, weights and every combiner's held-out score, for the manifest; None when no
    # combination was tried
    ensemble: dict[str, Any] | None
    check: SelectionCheck | None = None  # None when no combiner was scored on held-out folds
    standard_error: float | None = None  # of the best pipeline's score on the out-of-fold rows
    recipe: Recipe | None = None  # what rebuilds ``estimator``
    oof: OOFPredictions | None = None  # None when the winner left no out-of-fold scores


def load_candidates(
    trials: list[FrozenTrial], store: OOFStore, y: np.ndarray, price: RefitPrice
) -> list[Candidate]:
    """Trials (best first) with stored out-of-fold scores, as calibrated candidates, each
    priced as an ensemble member (``RefitPrice.member``: its refit, then featurizing the rows
    the caller predicts after)."""
    seen: set[str] = set()
    out = []
    for t in trials:
        key = repr(sorted(t.params.items()))
        scores = store.load(t.number)
        if key in seen or scores is None or scores.shape[0] != len(y):
            continue
        seen.add(key)
        temperature = fit_temperature(scores, y)
        record = TrialRecord.from_trial(t)
        features, classifier = price.member(t.params, record.timings)
        proba = member_proba(scores, temperature)
        out.append(
            Candidate(
                t.number, dict(t.params), proba, temperature, features + classifier,
                feature_key=featurizer_key(t.params), feature_seconds=features, share=record.share,
            )
        )  # fmt: skip
    return out


def affordable_best(
    result: SearchResult,
    metric: Metric,
    plan: ValidationPlan,
    clock: Clock,
    store: OOFStore | None,
    predict_share: float,
) -> FrozenTrial:
    """The best trial, or when its refit can no longer finish in time, the best one that can.

    The search holds back the best trial's refit, but a trial finishing last may lead with a
    refit longer than what is left. Estimates carry a safety margin: the best is kept unless
    it would overrun by more than ``AFFORD_SLACK`` of the budget.
    """
    best = result.best_trial
    if TrialRecord.from_trial(best).partial:
        return best
    price = RefitPrice(plan.train_fraction, predict_share)

    def cost(t: FrozenTrial) -> float:
        return price.single(t.params, TrialRecord.from_trial(t).timings, calibrated=store is None)

    slack = 0.0 if clock.deadline is None else AFFORD_SLACK * (clock.deadline - clock.started)
    left = clock.left() + slack
    if cost(best) <= left:
        return best
    ranked = ranked_trials(result.study, metric)[:MAX_CANDIDATES]
    return next((t for t in ranked if cost(t) <= left), min(ranked, key=cost, default=best))


@contextmanager
def capped_solvers() -> Iterator[None]:
    """Silence the convergence warnings of solvers stopped on purpose (the linear SVM's
    ``LINEAR_SVC_MAX_ITER`` passes): the search validated them as they stop."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


@dataclass
class FinalChoice:
    """What the refit will fit and what that is priced at: the best trial alone (``combination``
    None: it left no out-of-fold scores and is refit with its own calibration), or a
    combination of candidates."""

    best: FrozenTrial
    combination: Combination | None
    candidates: list[Candidate]
    price: RefitPrice
    seconds: float  # the refit's price, featurizing the rows predicted after it included


def choose_final(
    result: SearchResult,
    labels: list[str],
    cfg: RunConfig,
    plan: ValidationPlan,
    clock: Clock,
    store: OOFStore | None,
    predict_rows: int = 0,
) -> FinalChoice:
    """The combination of trials that scores best on held-out folds of the out-of-fold rows
    (``textauto.ensemble.stacking``), within the time left: an average, a stack, or the best
    single pipeline."""
    y = np.asarray(labels, dtype=object)
    metric = METRICS[cfg.search.metric]
    share = predict_rows / len(y)
    best = affordable_best(result, metric, plan, clock, store, share)
    classes = np.unique(y)
    y_oof = np.searchsorted(classes, y[plan.scored_rows])
    workers = resolve_n_jobs(cfg.search.n_jobs)  # the search's processes have ended: their cores
    price = RefitPrice(plan.train_fraction, share, workers)
    candidates = _candidates(result, best, metric, store, y_oof, price, cfg.search.ensemble_size)
    if not candidates or candidates[0].number != best.number:
        timings = TrialRecord.from_trial(best).timings
        return FinalChoice(best, None, candidates, price, price.single(best.params, timings))
    rounds, seed = cfg.search.ensemble_size, cfg.search.seed
    combination = choose_combination(
        candidates, y_oof, classes, metric, rounds, clock.left(), workers, seed=seed
    )
    return FinalChoice(best, combination, candidates, price, combination.refit_seconds(workers))


@dataclass
class RefitPlanner:
    """Prices the refit of the search's trials for the search (``run_search``'s
    ``refit_seconds``: choosing takes seconds on large data, and counts), and keeps that choice
    for the refit while no trial has completed since."""

    labels: list[str]
    cfg: RunConfig
    plan: ValidationPlan
    clock: Clock
    store: OOFStore | None
    predict_rows: int = 0
    last: tuple[int, FinalChoice] | None = None  # (trials completed then, the choice)

    def __call__(self, result: SearchResult) -> float:
        if (chosen := self.choice(result)) is not None:
            return chosen.seconds
        started = time.monotonic()
        args = (self.labels, self.cfg, self.plan, self.clock, self.store, self.predict_rows)
        choice = choose_final(result, *args)
        self.last = (_completed(result), choice)
        return choice.seconds + (time.monotonic() - started)

    def choice(self, result: SearchResult) -> FinalChoice | None:
        """The last choice, unless a trial completed since."""
        return self.last[1] if self.last is not None and self.last[0] == _completed(result) else None


def _completed(result: SearchResult) -> int:
    return len(result.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))


def fit_final(
    result: SearchResult,
    texts: list[str],
    labels: list[str],
    cfg: RunConfig,
    ctx: BuildContext,
    plan: ValidationPlan,
    clock: Clock,
    store: OOFStore | None,
    predict_rows: int = 0,
    choice: FinalChoice | None = None,
) -> FinalModel:
    """Refit ``choice`` (by default ``choose_final``'s) on all the training rows.

    An ensemble's probabilities come from temperatures fitted on the out-of-fold scores (no
    calibration refits); a best trial without stored scores (validated on partial folds) is
    refit with its own calibration.
    """
    X = np.asarray(texts, dtype=object)
    y = np.asarray(labels, dtype=object)
    choice = choice or choose_final(result, labels, cfg, plan, clock, store, predict_rows)
    best = result.best_trial = choice.best
    combination = choice.combination
    if combination is None:
        recipe = Recipe.pipeline(best.number, best.params)
        pipeline = recipe.build(cfg.space, ctx)
        with capped_solvers():
            pipeline.fit(X, y)
        return FinalModel(pipeline, float(best.value), None, recipe=recipe)
    recipe = Recipe.of(combination, choice.price.workers)
    ensemble = recipe.build(cfg.space, ctx)
    with capped_solvers():
        ensemble.fit(X, y)
    metric = METRICS[cfg.search.metric]
    classes = np.unique(y)
    y_oof = np.searchsorted(classes, y[plan.scored_rows])
    score = float(best.value) if combination.kind == Combiner.SINGLE else combination.score
    check = SelectionCheck(metric, combination.in_sample, combination.score) if combination.scores else None
    se = bootstrap_se(metric, y_oof, choice.candidates[0].proba, np.arange(len(classes)), cfg.search.seed)
    oof = OOFPredictions(plan.scored_rows, recipe.combine([c.proba for c in combination.members]), classes)
    info = _ensemble_info(combination, ensemble, choice.price)
    return FinalModel(ensemble, score, info, check, se, recipe, oof)


def _candidates(
    result: SearchResult,
    best: FrozenTrial,
    metric: Metric,
    store: OOFStore | None,
    y_oof: np.ndarray,
    price: RefitPrice,
    rounds: int,
) -> list[Candidate]:
    """The best trial, then (with ensembles on) the leaders of each kind, as candidates."""
    if store is None:
        return []
    others = [t for t in leading_trials(result.study, metric, MAX_CANDIDATES) if t.number != best.number]
    return load_candidates([best, *others] if rounds > 1 else [best], store, y_oof, price)


def _ensemble_info(
    combination: Combination, ensemble: EnsembleClassifier, price: RefitPrice
) -> dict[str, Any] | None:
    """For the manifest: members, weights and every combiner's held-out score, whichever won,
    and the refit's price against the time it took; None when no combiners were compared."""
    if not combination.scores:
        return None
    weights = combination.weights
    priced = priced_phases(combination.members, price.predict_share, price.workers)
    return {
        "combiner": str(combination.kind),
        "members": [
            {
                "trial": c.number,
                "weight": round(weights[c.number], 4),
                "temperature": round(c.temperature, 4),
                "pipeline": f"{c.params.get('representation')} + {c.params.get('classifier')}",
            }
            for c in combination.members
        ],
        "validation_score": combination.score,
        "best_single_score": combination.single_score,
        "held_out_scores": combination.scores,
        "path": combination.selection.path if combination.selection else [],
        "refit_seconds": {
            phase: {"priced": round(p, 2), "took": round(t, 2)}
            for phase, p, t in zip(("featurizers", "classifiers"), priced, ensemble.fit_seconds_, strict=True)
        },
    }


def priced_phases(members: list[Candidate], predict_share: float, workers: int) -> tuple[float, float]:
    """What the refit of ``members`` was priced at, featurizers then classifiers, without the
    featurizing of the rows predicted after it (``load_candidates``)."""
    features = {c.feature_key: c.feature_seconds / (1 + predict_share) for c in members}
    classifiers = [c.refit_seconds - c.feature_seconds for c in members]
    return RefitPrice(1.0, predict_share, workers).phases(list(features.values()), classifiers)
