"""The final model: an average or a stack of the best trials when it validates better, else the best one.

Refit on all the training data within the time the search left for it.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from optuna.trial import FixedTrial, FrozenTrial
from sklearn.exceptions import ConvergenceWarning

from textauto.components import BuildContext
from textauto.config import RunConfig
from textauto.cost.budget import AFFORD_SLACK, Clock, final_seconds, refit_parts, refit_phases
from textauto.cost.reserve import leading_trials, top_trials
from textauto.ensemble.classifier import EnsembleClassifier
from textauto.ensemble.greedy import Candidate, fit_temperature
from textauto.ensemble.stacking import choose_combination
from textauto.inference import softmax
from textauto.search.oof import OOFStore
from textauto.search.run import SearchResult
from textauto.search.workers import resolve_n_jobs
from textauto.space.build import build_pipeline, featurizer_key
from textauto.validation.metrics import METRICS, Metric
from textauto.validation.splits import ValidationPlan

MAX_CANDIDATES = 20  # best completed trials considered for the ensemble, beside the best of each kind


@dataclass
class FinalModel:
    estimator: Any  # a Pipeline, or an EnsembleClassifier of pipelines
    validation_score: float
    # members, weights and every combiner's held-out score, for the manifest; None when no
    # combination was tried
    ensemble: dict[str, Any] | None


def load_candidates(
    trials: list[FrozenTrial],
    store: OOFStore,
    y: np.ndarray,
    train_fraction: float,
    predict_share: float,
) -> list[Candidate]:
    """Trials (best first) with stored out-of-fold scores, as calibrated candidates.

    A candidate's cost is its refit plus, when the caller will predict ``predict_share`` times
    as many rows as it trained on, the featurizing of those rows.
    """
    seen: set[str] = set()
    out = []
    for t in trials:
        key = repr(sorted(t.params.items()))
        scores = store.load(t.number)
        if key in seen or scores is None or scores.shape[0] != len(y):
            continue
        seen.add(key)
        temperature = fit_temperature(scores, y)
        features, classifier = refit_parts(t.params, t.user_attrs, train_fraction, predict_share)
        proba = softmax(scores / temperature)
        out.append(
            Candidate(
                t.number, dict(t.params), proba, temperature, features + classifier,
                feature_key=featurizer_key(t.params), feature_seconds=features,
            )
        )  # fmt: skip
    return out


def _affordable_best(
    result: SearchResult,
    metric: Metric,
    plan: ValidationPlan,
    clock: Clock,
    store: OOFStore | None,
    predict_share: float,
) -> FrozenTrial:
    """The best trial, or when its refit can no longer finish in time, the best one that can.

    The search holds back the best trial's refit, but a trial finishing last may lead with a
    refit longer than what is left; the budget is kept rather than the last few tenths.
    """
    best = result.best_trial
    if best.user_attrs.get("partial"):
        return best

    def cost(t: FrozenTrial) -> float:
        frac = plan.train_fraction
        return final_seconds(t.params, t.user_attrs, frac, predict_share, calibrated=store is None)

    # Estimates carry a safety margin: keep the best unless it would overrun by more than the
    # 10% of the budget the promise allows (20newsgroups lost 9 points to a 2 s shortfall).
    slack = 0.0 if clock.deadline is None else AFFORD_SLACK * (clock.deadline - clock.started)
    left = clock.left() + slack
    if cost(best) <= left:
        return best
    ranked = top_trials(result.study, metric, MAX_CANDIDATES)
    return next((t for t in ranked if cost(t) <= left), min(ranked, key=cost, default=best))


@contextmanager
def _capped_solvers() -> Iterator[None]:
    """Silence the convergence warnings of solvers stopped on purpose (the linear SVM's
    ``LINEAR_SVC_MAX_ITER`` passes): the search validated them as they stop."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


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
) -> FinalModel:
    """Refit the combination of trials that scores best on held-out folds of the out-of-fold
    rows (``textauto.ensemble.stacking``): an average, a stack, or the best single pipeline.

    Either way the probabilities come from temperatures fitted on the out-of-fold scores (no
    calibration refits); a best trial without stored scores (validated on partial folds) is
    refit with its own calibration.
    """
    X = np.asarray(texts, dtype=object)
    y = np.asarray(labels, dtype=object)
    metric = METRICS[cfg.search.metric]
    best = result.best_trial = _affordable_best(result, metric, plan, clock, store, predict_rows / len(y))
    classes = np.unique(y)
    y_oof = np.searchsorted(classes, y[plan.oof_rows])
    rounds = cfg.search.ensemble_size
    workers = resolve_n_jobs(cfg.search.n_jobs)  # the search's processes have ended: their cores
    candidates: list[Candidate] = []
    if store is not None:
        leaders = leading_trials(result.study, metric, MAX_CANDIDATES)
        others = [t for t in leaders if t.number != best.number]
        trials = [best, *others] if rounds > 1 else [best]
        candidates = load_candidates(trials, store, y_oof, plan.train_fraction, predict_rows / len(y))
    if not candidates or candidates[0].number != best.number:
        pipeline = build_pipeline(FixedTrial(best.params), cfg.space, replace(ctx, probability=True))
        with _capped_solvers():
            pipeline.fit(X, y)
        return FinalModel(pipeline, float(best.value), None)

    combination = choose_combination(
        candidates, y_oof, classes, metric, rounds, clock.left(), workers, seed=cfg.search.seed
    )
    members, weights = combination.members, combination.weights
    score = float(best.value) if combination.kind == "single" else combination.score
    info = None
    if combination.scores:  # combiners were compared: keep what each scored, whichever won
        info = {
            "combiner": combination.kind,
            "members": [
                {
                    "trial": c.number,
                    "weight": round(weights[c.number], 4),
                    "temperature": round(c.temperature, 4),
                    "pipeline": f"{c.params.get('representation')} + {c.params.get('classifier')}",
                }
                for c in members
            ],
            "validation_score": combination.score,
            "best_single_score": combination.single_score,
            "held_out_scores": combination.scores,
            "path": combination.selection.path if combination.selection else [],
        }
    stacker = combination.stacker
    plain = replace(ctx, probability=False)  # probabilities come from the temperatures
    ensemble = EnsembleClassifier(
        [(f"trial-{c.number}", build_pipeline(FixedTrial(c.params), cfg.space, plain)) for c in members],
        weights=[weights[c.number] for c in members],
        temperatures=[c.temperature for c in members],
        n_jobs=workers,
        stack_coef=None if stacker is None else stacker.coef,
        stack_intercept=None if stacker is None else stacker.intercept,
    )
    with _capped_solvers():
        ensemble.fit(X, y)
    if info is not None:  # the price against the time taken, phase by phase
        priced = priced_phases(members, predict_rows / len(y), workers)
        info["refit_seconds"] = {
            phase: {"priced": round(p, 2), "took": round(t, 2)}
            for phase, p, t in zip(("featurizers", "classifiers"), priced, ensemble.fit_seconds_, strict=True)
        }
    return FinalModel(ensemble, score, info)


def priced_phases(members: list[Candidate], predict_share: float, workers: int) -> tuple[float, float]:
    """What the refit of ``members`` was priced at, featurizers then classifiers, without the
    featurizing of the rows predicted after it (``load_candidates``)."""
    features = {c.feature_key: c.feature_seconds / (1 + predict_share) for c in members}
    classifiers = [c.refit_seconds - c.feature_seconds for c in members]
    return refit_phases(list(features.values()), classifiers, workers)
