"""Which completed trials lead: the order the refit, its reserve and the saved model follow.

Ranked by their validation score alone, the leader of many trials is partly the one whose
luck was best (the winner's curse), and more time only means more draws: on 300 rows, a
two-minute search found dozens of trials perfect on every fold, and the latest of them fell
behind the earlier defaults on new data. So a lead within the noise does not count: of the
trials the leader beats by at most one standard error of their paired fold differences, the
earliest ranks first. The portfolio's strong defaults run first; a later trial must beat them
beyond the noise (docs/design.md, "Ranking the trials").
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np
import optuna
from optuna.trial import FrozenTrial, TrialState

from textauto.search.records import TrialRecord
from textauto.space.build import pipeline_kind
from textauto.validation.metrics import Metric, within_one_se


def by_score(trials: Iterable[FrozenTrial], direction: str) -> list[FrozenTrial]:
    """The completed ones of ``trials`` by their validation score alone, best first (ties in
    the order given)."""
    done = [t for t in trials if t.state == TrialState.COMPLETE]
    return sorted(done, key=lambda t: t.value, reverse=direction == "maximize")


def top_trials(study: optuna.Study, metric: Metric, k: int | None = None) -> list[FrozenTrial]:
    """The ``k`` best completed trials by their validation score alone, best first."""
    ranked = by_score(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)), metric.direction)
    return ranked if k is None else ranked[:k]


def ranked_trials(study: optuna.Study, metric: Metric) -> list[FrozenTrial]:
    """Completed trials, leaders first, where a lead within the noise goes to the earlier trial
    (``settle_leads``)."""
    return list(settle_leads(top_trials(study, metric), metric.direction))


def settle_leads(ranked: list[FrozenTrial], direction: str) -> Iterator[FrozenTrial]:
    """``ranked`` (best score first) reordered: repeatedly, the earliest trial that the best one
    left leads by at most one standard error of their paired fold differences. Trials without
    the same number of folds as that one (or fewer than two) are compared by score alone."""
    sign = 1.0 if direction == "maximize" else -1.0
    folds = [TrialRecord.from_trial(t).fold_scores for t in ranked]
    counts = np.array([len(f) for f in folds], dtype=int)
    scores = np.zeros((len(ranked), max(counts, default=0)))
    for i, f in enumerate(folds):
        scores[i, : len(f)] = f
    scores *= sign
    values = np.array([sign * t.value for t in ranked])
    numbers = np.array([t.number for t in ranked])
    left = np.ones(len(ranked), dtype=bool)
    while left.any():
        lead = int(np.argmax(left))  # the best score left
        n = counts[lead]
        tied = within_one_se(scores[lead, :n], scores[:, :n]) if n >= 2 else values == values[lead]
        tied[lead] = True  # even with a NaN among its folds: each round emits the lead
        # the tied trials up to the lead itself, earliest first; then the next lead
        first = np.flatnonzero(left & (counts == n) & tied & (numbers <= numbers[lead]))
        for i in first[np.argsort(numbers[first])]:
            left[i] = False
            yield ranked[i]


def leading_trials(study: optuna.Study, metric: Metric, k: int) -> list[FrozenTrial]:
    """The ``k`` leading completed trials (``ranked_trials``), then the leader of each
    representation and classifier pair not among them (the sampler tends to settle on one pair)."""
    ranked = top_trials(study, metric)
    kinds = {pipeline_kind(t.params) for t in ranked}
    leaders: list[FrozenTrial] = []
    seen: set[tuple[str, str]] = set()
    for t in settle_leads(ranked, metric.direction):  # only as far as the last kind's leader
        kind = pipeline_kind(t.params)
        if len(leaders) < k or kind not in seen:
            leaders.append(t)
        seen.add(kind)
        if len(leaders) >= k and seen == kinds:
            break
    return leaders
