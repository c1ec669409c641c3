"""Time held back for the refit while the search runs, and the ranking it looks at."""

from __future__ import annotations

from dataclasses import dataclass

import optuna
from optuna.trial import FrozenTrial, TrialState

from textauto.config import STACK_MEMBERS
from textauto.cost.budget import final_seconds, refit_makespan, refit_parts
from textauto.space.build import featurizer_key, pipeline_kind
from textauto.validation.metrics import Metric

# With ensembles on, the search holds back the refit time of the best trial of as many
# representation and classifier pairs as a stack takes (``STACK_MEMBERS``), the leader's
# first, within this share of the budget (the best pipeline's refit is always held back): a
# stack's members are of different kinds, and the leading trials are often of one (sms_spam
# and trec6 at 38ceab3: two spaCy+char SVMs sharing a featurizer left no time for a second
# kind). Holding back three kinds, ag_news at e7b4794 searched to 110 s, skipping every trial
# after 99 s as too long for what was left, and stacked four spaCy members refit in 2.9 s; its
# eight best kinds, word+char and char pipelines among them, refit in about 10 s and stack to
# 0.8969 on held-out folds against 0.8954 (test 0.9007 against 0.8954). At a fifth of the
# budget, 20newsgroups at a26e266 led with a word ridge (a 20 s refit) and saved two word
# ridges (0.8716): its char SGD (28 s) no longer fitted beside it; saved together they score
# 0.877-0.878. The search gives little for that time: in two runs of the six sets (a26e266,
# 120 s) the best validation score rose by at most 0.0016 after 85 s (trec6), and on the three
# large sets after 46 s only 20newsgroups' did, by 0.0027, with the word ridge that crowded out
# the char SGD.
ENSEMBLE_RESERVE_FRACTION = 0.3
RESERVE_CANDIDATES = 20  # best trials the reserve looks through for one whose refit fits


def top_trials(study: optuna.Study, metric: Metric, k: int | None = None) -> list[FrozenTrial]:
    """The ``k`` best completed trials, best first."""
    done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    ranked = sorted(done, key=lambda t: t.value, reverse=metric.direction == "maximize")
    return ranked if k is None else ranked[:k]


def leading_trials(study: optuna.Study, metric: Metric, k: int) -> list[FrozenTrial]:
    """The ``k`` best completed trials, then the best trial of each representation and
    classifier pair not among them, best first.

    The sampler settles on one pair: on trec6 at 452d56b, 60 of 66 completed trials were
    word+char SVMs and the 20 best all were, which left a stack no second kind of member.
    """
    ranked = top_trials(study, metric)
    leaders = ranked[:k]
    kinds = {pipeline_kind(t.params) for t in leaders}
    for t in ranked[k:]:
        if (kind := pipeline_kind(t.params)) not in kinds:
            kinds.add(kind)
            leaders.append(t)
    return leaders


@dataclass(frozen=True)
class RefitReserve:
    """Time held back for the refit: the best pipeline's, or that of a few ensemble members.

    A leader whose refit no longer fits in the time left will not be saved (the refit falls
    back to the best trial that fits, ``refit._affordable_best``), so the time is held back for
    that one: holding it for the leader would stop the search for a refit that never happens
    (on sst2 a word+char NB-SVM trial took the lead with a 72 s refit and ended the search 40 s
    early; the ensemble saved did not include it).
    """

    metric: Metric
    train_fraction: float
    predict_share: float
    calibrated: bool  # without out-of-fold scores, margin classifiers are calibrated at refit
    n_jobs: int  # threads refitting ensemble members
    ensemble_cap: float | None  # None: no ensemble; else at most this for a few members
    slack: float = 0.0  # seconds the winner's refit may overrun (refit._affordable_best)

    def cost(self, trial: FrozenTrial, calibrated: bool) -> float:
        return final_seconds(
            trial.params, trial.user_attrs, self.train_fraction, self.predict_share, calibrated=calibrated
        )

    def __call__(self, study: optuna.Study, left: float) -> float:
        ranked = leading_trials(study, self.metric, RESERVE_CANDIDATES)
        if not ranked:
            return 0.0
        # what the refit will still take: within the time left plus the allowed overrun
        fitting = [t for t in ranked if self.cost(t, self.calibrated) <= left + self.slack]
        if not fitting:  # none fits any more: the search is over
            return min(self.cost(t, self.calibrated) for t in ranked)
        top, kinds = [], set()
        for t in fitting:
            kind = pipeline_kind(t.params)
            if kind not in kinds and len(top) < STACK_MEMBERS:
                kinds.add(kind)
                top.append(t)
        single = self.cost(top[0], self.calibrated)
        if self.ensemble_cap is None:
            return single
        # with out-of-fold scores, probabilities come from a temperature: no calibration refits
        features: dict[str, float] = {}
        classifiers = []
        for t in top:
            feature, classifier = refit_parts(t.params, t.user_attrs, self.train_fraction, self.predict_share)
            features[featurizer_key(t.params)] = feature
            classifiers.append(classifier)
        members = refit_makespan(list(features.values()), classifiers, self.n_jobs)  # in threads
        return max(single, min(members, self.ensemble_cap))
