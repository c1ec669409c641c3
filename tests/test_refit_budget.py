"""The refit's price bounds what is saved: the members greedy selection may add, the winner
kept when its refit would overrun, the threads members refit on."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from tests.test_ensemble import CLASSES, _candidate, _scores
from textauto.ensemble.greedy import Candidate, greedy_selection
from textauto.ensemble.stacking import Combination, Combiner
from textauto.inference import softmax
from textauto.validation.metrics import METRICS


def test_a_shared_featurizer_is_counted_once_in_the_refit_budget():
    y = np.arange(120) % 3
    half = np.arange(120) < 60
    a = Candidate(
        0, {}, softmax(_scores(y, half, 3.0, 0.5)), 1.0, 10.0, feature_key="word", feature_seconds=8.0
    )
    b = Candidate(
        1, {}, softmax(_scores(y, ~half, 3.0, 0.5)), 1.0, 10.0, feature_key="word", feature_seconds=8.0
    )
    # b alone would not fit in 12 s beside a, but sharing a's featurizer it costs 2 s more
    sel = greedy_selection([a, b], y, CLASSES, METRICS["accuracy"], refit_budget=12.0)
    assert set(sel.counts) == {0, 1}
    b.feature_key = "char"
    sel = greedy_selection([a, b], y, CLASSES, METRICS["accuracy"], refit_budget=12.0)
    assert set(sel.counts) == {0}


def test_the_winner_is_kept_unless_its_refit_would_overrun_the_budget_by_more_than_10_percent():
    import time

    import optuna

    from textauto.cost.clock import Clock
    from textauto.ensemble.refit import affordable_best
    from textauto.search.run import SearchResult

    def trial(value, feature_seconds, classifier_seconds):
        attrs = {"feature_seconds": feature_seconds, "classifier_seconds": classifier_seconds}
        params = {"representation": "word", "classifier": "complement_nb"}
        dists = {k: optuna.distributions.CategoricalDistribution([v]) for k, v in params.items()}
        return optuna.trial.create_trial(params=params, distributions=dists, value=value, user_attrs=attrs)

    study = optuna.create_study(direction="maximize")
    study.add_trial(trial(0.9, 40.0, 0.0))  # refit (40 x 1.2 safety) + 0.5 = 48.5 s
    study.add_trial(trial(0.8, 1.0, 0.0))
    result = SearchResult(study, "accuracy", "holdout", 0.8, study.best_trial)
    plan = type("Plan", (), {"train_fraction": 0.8})()

    def chosen(left: float) -> int:
        now = time.monotonic()
        clock = Clock(deadline=now + left, started=now + left - 100.0)  # a 100 s budget
        return affordable_best(result, METRICS["accuracy"], plan, clock, None, 0.0).number

    assert chosen(45.0) == 0  # 3.5 s short: within the 10 s the budget allows
    assert chosen(30.0) == 1  # 18.5 s short: the best affordable one instead


def test_the_refit_budget_counts_the_threads():
    from textauto.cost.refit import THREAD_EFFICIENCY, RefitPrice

    one, two = RefitPrice(1.0, workers=1), RefitPrice(1.0, workers=2)
    from textauto.ensemble.refit import priced_phases

    assert one.makespan([], [10.0, 10.0]) == 20.0
    assert two.makespan([], [10.0, 10.0]) == pytest.approx(20.0 / (1 + THREAD_EFFICIENCY["classifiers"]))
    assert two.makespan([10.0, 10.0], []) == pytest.approx(20.0 / (1 + THREAD_EFFICIENCY["featurizers"]))
    assert two.makespan([], [15.0, 3.0]) == 15.0  # never below the longest member
    # featurizers all fit before the classifiers: A (10 s + 1 s) beside B (1 s + 10 s) takes
    # 10 s then 10 s on two threads, not 11
    assert two.makespan([10.0, 1.0], [1.0, 10.0]) == 20.0
    assert two.phases([10.0, 1.0], [1.0, 10.0]) == (10.0, 10.0)
    # what the refit was priced at: a shared featurizer once, without predicting the test rows
    shared = [
        replace(_candidate(n, np.zeros((3, 3)), cost=9.0), feature_key="word", feature_seconds=6.0)
        for n in (0, 1)
    ]
    assert priced_phases(shared, predict_share=0.5, workers=1) == (4.0, 6.0)
    # what the search holds back once it has priced the combination: featurizing the predicted
    # rows included, the shared featurizer once
    combination = Combination(Combiner.AVERAGE, shared, {0: 0.5, 1: 0.5}, 0.9)
    assert combination.refit_seconds(workers=1) == pytest.approx(6.0 + 3.0 + 3.0)
    y = np.arange(120) % 3
    half = np.arange(120) < 60
    a = _candidate(0, _scores(y, half, 3.0, 0.5), cost=10.0)
    b = _candidate(1, _scores(y, ~half, 3.0, 0.5), cost=10.0)
    budget = two.makespan([], [10.0, 10.0]) + 0.1  # both fit on two threads, not on one
    assert set(greedy_selection([a, b], y, CLASSES, METRICS["accuracy"], refit_budget=budget).counts) == {0}
    sel = greedy_selection([a, b], y, CLASSES, METRICS["accuracy"], refit_budget=budget, workers=2)
    assert set(sel.counts) == {0, 1}
