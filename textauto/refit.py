"""The final model: an ensemble of the best trials when it validates better, else the best one.

Refit on all the training data within the time the search left for it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from optuna.trial import FixedTrial, FrozenTrial

from textauto.budget import SAFETY, Clock, refit_seconds
from textauto.components import BuildContext
from textauto.config import RunConfig
from textauto.ensemble import (
    Candidate,
    EnsembleClassifier,
    OOFStore,
    Selection,
    fit_temperature,
    greedy_selection,
    softmax,
)
from textauto.metrics import METRICS, Metric
from textauto.search import SearchResult, top_trials
from textauto.space import build_pipeline
from textauto.validation import ValidationPlan

MAX_CANDIDATES = 20  # best completed trials considered for the ensemble


@dataclass
class FinalModel:
    estimator: Any  # a Pipeline, or an EnsembleClassifier of pipelines
    validation_score: float
    ensemble: dict[str, Any] | None  # members, weights and scores, for the manifest


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
        cost = refit_seconds(t.params, t.user_attrs, train_fraction, calibrated=False)
        cost += float(t.user_attrs.get("feature_seconds", 0.0)) * predict_share * SAFETY
        out.append(Candidate(t.number, dict(t.params), softmax(scores / temperature), temperature, cost))
    return out


def choose_ensemble(
    result: SearchResult,
    store: OOFStore,
    plan: ValidationPlan,
    labels: np.ndarray,
    metric: Metric,
    rounds: int,
    refit_budget: float,
    predict_share: float = 0.0,
) -> tuple[Selection, list[Candidate]] | None:
    """The greedy selection over the best trials, or None when there is nothing to combine."""
    classes = np.unique(labels)
    y = np.searchsorted(classes, labels[plan.oof_rows])
    best = result.best_trial
    trials = [best, *(t for t in top_trials(result.study, metric, MAX_CANDIDATES) if t.number != best.number)]
    candidates = load_candidates(trials, store, y, plan.train_fraction, predict_share)
    if len(candidates) < 2 or candidates[0].number != best.number:
        return None  # e.g. a winner validated on partial folds has no scores to compare
    selection = greedy_selection(candidates, y, classes, metric, max_rounds=rounds, refit_budget=refit_budget)
    return selection, candidates


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
    """Refit the ensemble (when it beats the best single pipeline on validation) or the best."""
    X = np.asarray(texts, dtype=object)
    y = np.asarray(labels, dtype=object)
    metric = METRICS[cfg.search.metric]
    best = result.best_trial
    chosen = None
    if store is not None and cfg.search.ensemble_size > 1:
        chosen = choose_ensemble(
            result, store, plan, y, metric, cfg.search.ensemble_size, clock.left(), predict_rows / len(y)
        )
    if chosen is not None:
        selection, candidates = chosen
        if len(selection.counts) > 1 and metric.better(selection.score, selection.single_score):
            members = [c for c in candidates if c.number in selection.counts]
            weights = selection.weights
            plain = replace(ctx, probability=False)  # probabilities come from the temperatures
            pipelines = [build_pipeline(FixedTrial(c.params), cfg.space, plain) for c in members]
            ensemble = EnsembleClassifier(
                [(f"trial-{c.number}", p) for c, p in zip(members, pipelines, strict=True)],
                weights=[weights[c.number] for c in members],
                temperatures=[c.temperature for c in members],
            )
            ensemble.fit(X, y)
            info = {
                "members": [
                    {
                        "trial": c.number,
                        "weight": round(weights[c.number], 4),
                        "temperature": round(c.temperature, 4),
                        "pipeline": f"{c.params.get('representation')} + {c.params.get('classifier')}",
                    }
                    for c in members
                ],
                "validation_score": selection.score,
                "best_single_score": selection.single_score,
                "path": selection.path,
            }
            return FinalModel(ensemble, selection.score, info)
    pipeline = build_pipeline(FixedTrial(best.params), cfg.space, replace(ctx, probability=True))
    pipeline.fit(X, y)
    return FinalModel(pipeline, float(best.value), None)
