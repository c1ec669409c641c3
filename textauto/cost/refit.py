"""The refit's price: how long fitting the winner (or the ensemble's members) on all rows takes.

One model, priced from what a validation fold cost (``Timings``), used three ways: the search
holds that much time back while it runs, the refit picks the best trial it can afford, and
greedy selection keeps the members' refit within the time left. See docs/design.md, "The refit
reserve".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from textauto.space.build import needs_calibration

SAFETY = 1.2  # timings wander; keep a margin
# CalibratedClassifierCV(cv=2, ensemble=False): fits the classifier on each half of the rows
# and once on all of them, about two fits; the featurizer is fit once.
CALIBRATION_FACTOR = 2.0
# Share of the budget the winner's refit may overrun its estimate by (the estimate has SAFETY).
AFFORD_SLACK = 0.1
# A sparse classifier timed beside other workers ran this much slower than the refit, which
# runs alone, will (memory bandwidth; less than measured, for margin).
CONTENDED_SLOWDOWN = 1.6
# Threads refitting members overlap imperfectly: each thread past the first counts as this
# much of one (classifiers' sparse fits, like contended ones, are bound by memory bandwidth).
THREAD_EFFICIENCY = {"featurizers": 0.6, "classifiers": 0.3}
FIXED_SECONDS = 0.5  # a pipeline's fixed costs: building, the fit's setup


@dataclass(frozen=True)
class Timings:
    """What one validation fold of a trial cost."""

    feature_seconds: float  # fitting the featurizer on the fold's rows and transforming the rest
    classifier_seconds: float
    workers: int = 1  # trial processes timing side by side on that machine


@dataclass(frozen=True)
class RefitPrice:
    """Expected seconds to refit pipelines on all the training rows, then predict with them.

    A fold's featurizer time already covers every row (fit on its training part, transform
    the rest); its classifier time grows with the share of rows it was fit on
    (``train_fraction``), and shrinks by ``CONTENDED_SLOWDOWN`` when it was timed beside other
    workers. A margin classifier saved alone is calibrated (``CALIBRATION_FACTOR``); ensemble
    members take probabilities from temperatures fitted on out-of-fold scores instead. The
    caller may then predict ``predict_share`` times the training rows (a test set): that
    featurizing is priced too. Members refit on ``workers`` threads, all their distinct
    featurizers first, then their classifiers (``phases``).
    """

    train_fraction: float
    predict_share: float = 0.0
    workers: int = 1

    def fit(self, params: Mapping[str, Any], timings: Timings | None, *, calibrated: bool = True) -> float:
        """Refitting one pipeline, calibration included when it needs it; 0 when never timed."""
        if timings is None:
            return 0.0
        classifier = timings.classifier_seconds
        if timings.workers > 1:
            classifier /= CONTENDED_SLOWDOWN
        if calibrated and needs_calibration(dict(params)):
            classifier *= CALIBRATION_FACTOR
        features = timings.feature_seconds
        return (features + classifier / max(self.train_fraction, 0.05)) * SAFETY + FIXED_SECONDS

    def single(self, params: Mapping[str, Any], timings: Timings | None, *, calibrated: bool = True) -> float:
        """``fit``, then featurizing the rows predicted after it."""
        predicting = (timings.feature_seconds if timings else 0.0) * self.predict_share * SAFETY
        return self.fit(params, timings, calibrated=calibrated) + predicting

    def member(self, params: Mapping[str, Any], timings: Timings | None) -> tuple[float, float]:
        """(featurizer, classifier) seconds of an ensemble member's ``single`` price."""
        total = self.single(params, timings, calibrated=False)
        features = (timings.feature_seconds if timings else 0.0) * SAFETY * (1 + self.predict_share)
        return features, max(total - features, 0.0)

    def phases(self, features: Sequence[float], classifiers: Sequence[float]) -> tuple[float, float]:
        """Members' refit on ``workers`` threads: their distinct featurizers (``features``,
        seconds each), which all fit first, then their classifiers."""

        def phase(seconds: Sequence[float], efficiency: float) -> float:
            speed = 1.0 + efficiency * (max(self.workers, 1) - 1)
            return max(max(seconds, default=0.0), sum(seconds) / speed)

        return (
            phase(features, THREAD_EFFICIENCY["featurizers"]),
            phase(classifiers, THREAD_EFFICIENCY["classifiers"]),
        )

    def makespan(self, features: Sequence[float], classifiers: Sequence[float]) -> float:
        """The two ``phases`` together."""
        return sum(self.phases(features, classifiers))
