"""What pruning may stop, and which trials the refit and its reserve look at."""

from __future__ import annotations

import optuna
import pytest

from textauto import AutoTextClassifier


def _trial(value: float, representation: str, classifier: str) -> optuna.trial.FrozenTrial:
    params = {"representation": representation, "classifier": classifier}
    dists = {k: optuna.distributions.CategoricalDistribution([v]) for k, v in params.items()}
    return optuna.trial.create_trial(params=params, distributions=dists, value=value)


def test_leading_trials_add_the_best_of_each_kind_below_the_top():
    from textauto.search.ranking import leading_trials
    from textauto.validation.metrics import METRICS

    study = optuna.create_study(direction="maximize")
    for i in range(5):
        study.add_trial(_trial(0.9 - i * 0.001, "word+char", "linear_svc"))
    study.add_trial(_trial(0.80, "word", "ridge"))
    study.add_trial(_trial(0.85, "word", "ridge"))
    study.add_trial(_trial(0.70, "char", "sgd"))
    leaders = leading_trials(study, METRICS["accuracy"], 3)
    values = [t.value for t in leaders]
    # the three best, then the best word ridge and the char SGD, best first
    assert values == pytest.approx([0.9, 0.899, 0.898, 0.85, 0.70])
    assert [t.params["classifier"] for t in leaders[3:]] == ["ridge", "sgd"]
    # a kind already among the top is not added again
    assert len(leading_trials(study, METRICS["accuracy"], 8)) == 8


# word and char n-grams with fast classifiers: the portfolio and the swaps, in seconds
FAST = {
    "representations": ["word", "char", "word+char"],
    "classifiers": ["linear_svc", "nbsvm", "ridge", "complement_nb", "sgd"],
}


def _search(texts, labels, n_trials: int, **config) -> optuna.Study:
    config = {"space": FAST, **config}
    est = AutoTextClassifier(n_trials=n_trials, seed=0, time_budget=600, config=config)
    return est.fit(texts, labels).study_


@pytest.fixture(scope="module")
def kfold_study(demo) -> optuna.Study:
    return _search(*demo, n_trials=30, validation={"strategy": "kfold"})  # 5 folds, not repeated


def _below_median(trials) -> list[optuna.trial.FrozenTrial]:
    return [t for t in trials if t.user_attrs.get("stopped", "").startswith("pruned: below the median")]


def _queued(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    return [t for t in study.trials if {"portfolio", "swap_of"} & t.user_attrs.keys()]


def test_a_trial_that_ran_every_fold_is_not_pruned(kfold_study, demo):
    """Pruning saves the folds left; after the last one there are none (on holdout data every
    trial's only fold is its last)."""
    pruned = [t for t in kfold_study.trials if t.state.name == "PRUNED"]
    assert all(len(t.intermediate_values) < 5 for t in pruned)
    assert _below_median(pruned)  # yet weak trials are still stopped early
    holdout = _search(*demo, n_trials=12, validation={"strategy": "holdout"})
    assert not _below_median(holdout.trials)
    assert sum(t.state.name == "COMPLETE" for t in holdout.trials) == 12


def test_portfolio_and_swap_trials_complete_below_the_median(kfold_study):
    """They are there to give the ensemble members of several kinds: pruned, they leave no
    out-of-fold scores to combine."""
    queued = _queued(kfold_study)
    assert any("swap_of" in t.user_attrs for t in queued)
    assert not _below_median(queued), [(t.number, t.params["classifier"]) for t in queued]
    assert all(t.state.name == "COMPLETE" for t in queued)


def test_a_costly_portfolio_trial_below_the_median_is_still_pruned(demo, monkeypatch):
    """Only while its remaining folds are cheap (``DIVERSITY_FRACTION`` of the budget)."""
    from textauto.search import run as search

    monkeypatch.setattr(search, "DIVERSITY_FRACTION", 0.0)
    assert _below_median(_queued(_search(*demo, n_trials=30)))
