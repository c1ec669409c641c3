"""A configuration too costly for the time left is validated on a share of each fold's training
rows, a cheaper fidelity, rather than skipped; below half of them it is skipped."""

from __future__ import annotations

import math
import time

import numpy as np
import optuna
import pytest

from textauto.bundle.board import leaderboard
from textauto.components import BuildContext
from textauto.config import build_config
from textauto.cost.clock import Clock
from textauto.cost.model import CostModel
from textauto.cost.refit import Timings
from textauto.search.fidelity import Fidelity
from textauto.search.objective import Limits, Objective
from textauto.search.oof import OOFStore
from textauto.validation.config import ValidationConfig
from textauto.validation.metrics import METRICS
from textauto.validation.splits import plan_validation

# every parameter fixed: each trial is the same configuration, timed alike
WORD = {
    "ngram_max": 2, "min_df": 1, "max_df": 1.0, "sublinear_tf": True, "max_features": 0,
    "lowercase": True, "strip_accents": "none", "stop_words": False, "negation": False,
}  # fmt: skip
ONE_CONFIGURATION = {
    "space.representations": ["word"],
    "space.classifiers": ["complement_nb"],
    **{f"space.word.{k}": v for k, v in WORD.items()},
    "space.complement_nb.alpha": 0.3,
    "space.complement_nb.norm": False,
}


@pytest.fixture
def search(demo, tmp_path):
    """An objective over one configuration, timed once on all the rows with no deadline."""
    texts, labels = demo
    plan = plan_validation(texts, labels, ValidationConfig(strategy="kfold"), seed=0)
    clock = Clock(deadline=None)
    objective = Objective(
        texts, labels, plan, METRICS["accuracy"], build_config(overrides=ONE_CONFIGURATION).space,
        BuildContext(n_classes=len(set(labels))), Limits(clock, lambda: 0.0, math.inf),
        oof=OOFStore(tmp_path / "oof"),
    )  # fmt: skip
    study = optuna.create_study(direction="maximize")
    study.optimize(objective, n_trials=1)
    return study, objective, clock, plan


def _run_with_left(study, objective, clock, fraction: float):
    """One more trial with the configuration's refit plus ``fraction`` of its trial time left."""
    seconds, refit = objective.costs.expected(study.trials[0].params)
    clock.deadline = time.monotonic() + refit + fraction * seconds
    study.optimize(objective, n_trials=1)
    board = leaderboard(study.trials, "maximize").set_index("trial")
    return study.trials[-1], board.loc[study.trials[-1].number, "note"]


def test_a_configuration_too_costly_in_full_is_fitted_on_a_share_of_each_fold(search):
    study, objective, clock, plan = search
    trial, note = _run_with_left(study, objective, clock, 0.85)
    assert trial.state == optuna.trial.TrialState.COMPLETE
    share = int(note.split("fitted on ")[1].split("%")[0])
    assert 50 <= share < 100 and note.endswith("of each fold's training rows: all of them cost too much")
    # every validation row is still scored: the ensemble can take it like any other trial
    assert objective.oof.load(trial.number).shape[0] == len(plan.scored_rows)


def test_less_than_half_of_the_rows_is_not_worth_a_trial(search):
    study, objective, clock, _ = search
    trial, note = _run_with_left(study, objective, clock, 0.2)
    assert trial.state == optuna.trial.TrialState.PRUNED
    assert note.startswith("skipped: expected to take")


def test_a_configuration_that_fits_is_fitted_on_every_row(search):
    study, objective, clock, _ = search
    trial, note = _run_with_left(study, objective, clock, 3.0)
    assert trial.state == optuna.trial.TrialState.COMPLETE and note == ""


def test_a_fold_timed_on_a_share_is_recorded_as_what_all_its_rows_would_cost():
    # on half of 80% training rows, featurizing read 60% of the rows and the classifier half
    full = Fidelity(0.5, 0.8).at_full(Timings(6.0, 1.0))
    assert (full.feature_seconds, full.classifier_seconds) == pytest.approx((10.0, 2.0))
    assert Fidelity(1.0, 0.8).at_full(Timings(6.0, 1.0)) == Timings(6.0, 1.0)


def test_a_share_keeps_each_class_in_proportion_and_one_row_of_a_rare_class():
    labels = np.array(["a"] * 80 + ["b"] * 18 + ["c"] * 2)
    train = np.arange(100)
    kept = Fidelity(0.5).rows(train, labels, seed=0, step=1)
    assert [int((labels[kept] == c).sum()) for c in "abc"] == [40, 9, 1]
    assert np.array_equal(kept, Fidelity(0.5).rows(train, labels, seed=0, step=1))  # reproducible
    assert set(kept) <= set(train) and np.all(np.diff(kept) > 0)
    assert np.array_equal(Fidelity(1.0).rows(train, labels, seed=0, step=1), train)


def test_the_affordable_share_is_all_rows_at_the_full_price_and_less_than_the_price_ratio():
    costs = CostModel(train_fraction=0.8, n_folds=5)
    params = {"representation": "word", "classifier": "linear_svc"}
    costs.record(params, Timings(1.0, 1.0))
    full, _ = costs.expected(params)
    assert costs.affordable_share(params, full) == pytest.approx(1.0)
    assert costs.affordable_share(params, 2 * full) == 1.0
    # featurizing the validation rows does not shrink with the training rows
    assert 0.0 < costs.affordable_share(params, full / 2) < 0.5
    assert costs.affordable_share(params, 0.0) < 0.0
