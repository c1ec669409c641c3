"""The refit reserve: what the search holds back for the refit, and searching on once the refit
is priced when it costs less."""

from __future__ import annotations

from dataclasses import replace

import optuna
import pytest

from textauto import AutoTextClassifier
from textauto.search.reserve import RefitReserve
from textauto.validation.metrics import METRICS


def _trial(value, feature_seconds, classifier_seconds=0.0, representation="word", classifier="complement_nb"):
    """A completed trial timed at ``feature_seconds`` and ``classifier_seconds`` a fold."""
    params = {"representation": representation, "classifier": classifier}
    dists = {k: optuna.distributions.CategoricalDistribution([v]) for k, v in params.items()}
    attrs = {"feature_seconds": feature_seconds, "classifier_seconds": classifier_seconds}
    return optuna.trial.create_trial(params=params, distributions=dists, value=value, user_attrs=attrs)


def _reserve(**kwargs) -> RefitReserve:
    settings = {"calibrated": False, "n_jobs": 1, "ensemble_cap": None} | kwargs
    return RefitReserve(METRICS["accuracy"], 0.8, 0.0, **settings)


def test_the_refit_reserve_holds_back_for_the_best_trial_whose_refit_still_fits():
    """A leader whose refit no longer fits will not be saved: holding its refit back would stop
    the search for nothing, so the reserve falls back to the best trial that fits."""
    study = optuna.create_study(direction="maximize")
    reserve = _reserve()
    assert reserve(study, 100.0) == 0.0  # nothing to refit yet
    study.add_trial(_trial(0.9, 40.0))  # refit: 40 x 1.2 safety + 0.5 = 48.5 s
    study.add_trial(_trial(0.8, 1.0))  # 1.7 s
    assert reserve(study, 100.0) == pytest.approx(48.5)
    assert reserve(study, 30.0) == pytest.approx(1.7)  # the leader no longer fits
    assert reserve(study, 1.0) == pytest.approx(1.7)  # nothing fits: more than is left, the search ends
    ensemble = _reserve(n_jobs=2, ensemble_cap=20.0)
    assert ensemble(study, 100.0) == pytest.approx(48.5)  # never less than the winner alone
    # the refit keeps a leader that overruns by less than the allowed slack: so does the reserve
    slack = _reserve(slack=10)
    assert slack(study, 40.0) == pytest.approx(48.5)
    assert slack(study, 38.0) == pytest.approx(1.7)


def test_once_the_refit_is_priced_the_reserve_holds_back_that_and_never_less_than_the_winner():
    study = optuna.create_study(direction="maximize")
    study.add_trial(_trial(0.9, 1.0))  # refit 1.7 s
    study.add_trial(_trial(0.8, 30.0, representation="char", classifier="multinomial_nb"))  # 36.5 s
    estimate = _reserve(ensemble_cap=20.0)
    assert estimate(study, 100.0) == pytest.approx(20.0)  # the members' estimate, capped
    assert replace(estimate, chosen=5.0)(study, 100.0) == pytest.approx(5.0)
    assert replace(estimate, chosen=0.5)(study, 100.0) == pytest.approx(1.7)


def test_the_ensemble_reserve_holds_back_one_trial_of_each_kind():
    """A stack's members are of different kinds: the reserve holds back the best trial of each
    of the first kinds, not a second trial of the leader's."""
    study = optuna.create_study(direction="maximize")
    study.add_trial(_trial(0.9, 1.0))  # 1.7 s, its own featurizer
    study.add_trial(_trial(0.89, 1.0, 40.0))  # the leader's kind: not held back
    study.add_trial(_trial(0.8, 5.0, classifier="multinomial_nb"))  # 6.5 s
    reserve = _reserve(ensemble_cap=100.0)
    # one featurizer (the parameters are equal), the longer; then the two held-back classifiers
    assert 6.0 <= reserve(study, 100.0) < 10.0


def test_the_ensemble_reserve_holds_back_as_many_kinds_as_a_stack_takes():
    """The refit of a stack's members is held back, up to ``STACK_MEMBERS`` kinds: holding back
    three left ag_news a refit of four spaCy members and no room for the others."""
    from textauto.config import STACK_MEMBERS

    classifiers = [
        "complement_nb",
        "multinomial_nb",
        "ridge",
        "linear_svc",
        "logreg",
        "sgd",
        "nbsvm",
        "lightgbm",
    ]
    study = optuna.create_study(direction="maximize")
    for i, (representation, classifier) in enumerate((r, c) for r in ("word", "char") for c in classifiers):
        study.add_trial(_trial(0.9 - i / 100, 0.0, 1.0, representation, classifier))
    reserve = _reserve(ensemble_cap=1000.0)
    one = reserve.cost(study.best_trial, calibrated=False)
    # one thread: the classifiers one after the other, each kind's best once
    assert reserve(study, 1000.0) == pytest.approx(STACK_MEMBERS * one)
    assert STACK_MEMBERS > 3


def _search_with_fixed_reserve(demo, monkeypatch, seconds: float, storage: str | None = None):
    """A 12 s search whose reserve's estimate is held at ``seconds`` until the refit is priced;
    returns the fitted model and the trials completed after the refit was first priced (when
    the first search had ended)."""
    from textauto.ensemble.refit import RefitPlanner
    from textauto.search.reserve import RefitReserve

    estimate, price = RefitReserve.__call__, RefitPlanner.__call__
    priced: list[float] = []
    after: list[int] = []

    def reserve(self, study, left):
        return seconds if self.chosen is None else estimate(self, study, left)

    def pricing(self, result):
        priced.append(price(self, result))
        return priced[-1]

    def count(study, trial):
        if priced and trial.state == optuna.trial.TrialState.COMPLETE:
            after.append(trial.number)

    monkeypatch.setattr(RefitReserve, "__call__", reserve)
    monkeypatch.setattr(RefitPlanner, "__call__", pricing)
    est = AutoTextClassifier(time_budget=12, seed=0, storage=storage, callbacks=[count]).fit(*demo)
    assert priced, "the refit was never priced"
    return est, after


@pytest.mark.parametrize("storage", ["memory", "sqlite"])
def test_a_search_that_held_back_more_than_its_refit_needs_goes_on(demo, monkeypatch, tmp_path, storage):
    """The ensemble reserve estimates the refit of the best trial of each kind; when the refit
    it then chooses costs much less, the search spends the difference on more trials."""
    url = None if storage == "memory" else f"sqlite:///{tmp_path / 'study.db'}"
    est, after = _search_with_fixed_reserve(demo, monkeypatch, 8.0, url)  # two thirds of the budget
    (extension, *_) = est.search_result_.extensions
    assert 0 < extension.held_back < 8.0
    assert after  # trials completed once the search went on
    assert est.predict(demo[0][:3]).shape == (3,)


def test_a_search_whose_refit_takes_what_it_held_back_stops(demo, monkeypatch):
    from textauto.ensemble.refit import RefitPlanner

    monkeypatch.setattr(RefitPlanner, "__call__", lambda self, result: 7.9)  # about what was held
    est, after = _search_with_fixed_reserve(demo, monkeypatch, 8.0)
    assert est.search_result_.extensions == ()
    assert after == []
