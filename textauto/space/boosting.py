"""LightGBM's classifier, paced against a trial's time limit. Imported only when used: LightGBM
is slow to import."""

from __future__ import annotations

import time
from typing import Any

from lightgbm import LGBMClassifier

from textauto.timeout import stop_if_late


class _StopIfLate:
    """A LightGBM callback: after each boosting round, stop if the rounds left cannot finish
    within the active time limit (``textauto.timeout.stop_if_late``).

    The pace is taken from the second round on: the first also builds the Dataset, which can
    take as long as dozens of rounds.
    """

    def __init__(self) -> None:
        self.first_round_ended: float | None = None

    def __call__(self, env: Any) -> None:
        if self.first_round_ended is None:
            self.first_round_ended = time.monotonic()
            return
        rounds = env.end_iteration - env.begin_iteration - 1  # after the first
        stop_if_late(self.first_round_ended, env.iteration - env.begin_iteration, rounds)


class PacedLGBMClassifier(LGBMClassifier):
    """``LGBMClassifier`` that, in a trial, stops as soon as its remaining boosting rounds would
    run past the trial's time limit, rather than at the limit (whose work would be lost).
    Elsewhere it fits as usual."""

    def fit(self, X: Any, y: Any, **kwargs: Any) -> PacedLGBMClassifier:
        kwargs["callbacks"] = [*(kwargs.get("callbacks") or []), _StopIfLate()]
        return super().fit(X, y, **kwargs)
