"""How much each searched parameter mattered to the score: Optuna's importance evaluator
(PED-ANOVA, which reads conditional parameters too) over the study's completed trials."""

from __future__ import annotations

import warnings

import optuna
from optuna.trial import TrialState

MIN_TRIALS = 3  # fewer completed trials leave no spread to attribute


def param_importances(study: optuna.Study) -> dict[str, float]:
    """Each parameter's share of the importance (summing to 1), most important first; empty
    when too few trials completed for any estimate."""
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if len(complete) < MIN_TRIALS:
        return {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the evaluators' experimental-feature warnings
        try:
            values = optuna.importance.get_param_importances(study)
        except (ValueError, RuntimeError, ZeroDivisionError):  # e.g. every trial scored alike
            return {}
    return {name: round(float(v), 4) for name, v in values.items()}
