"""Time held back for the refit while the search runs."""

from __future__ import annotations

from dataclasses import dataclass

import optuna
from optuna.trial import FrozenTrial

from textauto.config import STACK_MEMBERS
from textauto.cost.refit import RefitPrice
from textauto.search.ranking import leading_trials
from textauto.search.records import TrialRecord
from textauto.space.build import best_of_each_kind, featurizer_key
from textauto.validation.metrics import Metric

# With ensembles on, the search holds back the refit of the best trial of as many kinds
# (representation and classifier) as a stack takes, within this share of the budget
# (docs/design.md, "The refit reserve").
ENSEMBLE_RESERVE_FRACTION = 0.3
RESERVE_CANDIDATES = 20  # best trials the reserve looks through for one whose refit fits


@dataclass(frozen=True)
class RefitReserve:
    """Time held back for the refit: the best pipeline's, or that of a few ensemble members.

    A leader whose refit no longer fits in the time left will not be saved (the refit falls
    back to the best trial that fits, ``ensemble.refit.affordable_best``), so the time is held
    back for that one: holding it for the leader would stop the search for a refit that never
    happens. Priced by ``RefitPrice``.
    """

    metric: Metric
    train_fraction: float
    predict_share: float
    calibrated: bool  # without out-of-fold scores, margin classifiers are calibrated at refit
    n_jobs: int  # threads refitting ensemble members
    ensemble_cap: float | None  # None: no ensemble; else at most this for a few members
    slack: float = 0.0  # seconds the winner's refit may overrun (ensemble.refit.affordable_best)
    # the refit of the combination the search's trials would give, priced when it first stopped:
    # held back in place of the members' estimate (``search.run.Session.extend``)
    chosen: float | None = None

    @property
    def price(self) -> RefitPrice:
        return RefitPrice(self.train_fraction, self.predict_share, self.n_jobs)

    def cost(self, trial: FrozenTrial, calibrated: bool) -> float:
        return self.price.single(trial.params, TrialRecord.from_trial(trial).timings, calibrated=calibrated)

    def __call__(self, study: optuna.Study, left: float) -> float:
        ranked = leading_trials(study, self.metric, RESERVE_CANDIDATES)
        if not ranked:
            return 0.0
        # what the refit will still take: within the time left plus the allowed overrun
        fitting = [t for t in ranked if self.cost(t, self.calibrated) <= left + self.slack]
        if not fitting:  # none fits any more: the search is over
            return min(self.cost(t, self.calibrated) for t in ranked)
        top = best_of_each_kind(fitting, STACK_MEMBERS)
        single = self.cost(top[0], self.calibrated)
        if self.ensemble_cap is None:
            return single
        if self.chosen is not None:
            return max(single, self.chosen)
        # with out-of-fold scores, probabilities come from a temperature: no calibration refits
        features: dict[str, float] = {}
        classifiers = []
        for t in top:
            feature, classifier = self.price.member(t.params, TrialRecord.from_trial(t).timings)
            features[featurizer_key(t.params)] = feature
            classifiers.append(classifier)
        members = self.price.makespan(list(features.values()), classifiers)  # in threads
        return max(single, min(members, self.ensemble_cap))
