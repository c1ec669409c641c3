"""Classifier swaps: the leading representations tried with every other classifier."""

from __future__ import annotations

import optuna
from optuna.trial import FrozenTrial, TrialState

from textauto.search.ranking import top_trials
from textauto.search.records import Origin, TrialRecord
from textauto.space.build import classifier_swaps, featurizer_key
from textauto.space.config import SpaceConfig
from textauto.validation.metrics import Metric

SWAPPED_REPRESENTATIONS = 2  # leading representations tried with every classifier


class SwapClassifiers:
    """Once nothing is queued, try the best trial's representation with the other classifiers.

    Done for the first ``limit`` representations that lead the study; with the feature cache
    these trials cost a classifier fit each.
    """

    def __init__(self, space: SpaceConfig, metric: Metric, limit: int = SWAPPED_REPRESENTATIONS) -> None:
        self.space = space
        self.metric = metric
        self.limit = limit
        self.done: set[str] = set()

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        if len(self.done) >= self.limit or study.get_trials(deepcopy=False, states=(TrialState.WAITING,)):
            return
        top = top_trials(study, self.metric, 1)
        if not top or featurizer_key(top[0].params) in self.done:
            return
        self.done.add(featurizer_key(top[0].params))
        for params in classifier_swaps(top[0].params, self.space):
            study.enqueue_trial(
                params,
                user_attrs=TrialRecord(origin=Origin.SWAP, swap_of=top[0].number).to_user_attrs(),
                skip_if_exists=True,
            )
