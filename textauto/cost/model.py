"""``CostModel``: what a configuration will cost, learned from the folds timed so far."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from textauto.cost.priors import CLASSIFIER_WEIGHT, UNTIMED_DISCOUNT, classifier_weight, featurizer_weight
from textauto.cost.refit import SAFETY, RefitPrice, Timings


class CostModel:
    """What a configuration costs, learned from the folds this process has timed.

    A fold costs its featurizer time plus its classifier time. Each is taken from trials with
    the same representation (and classifier) when there are any, else scaled from the cheapest
    unit seen by the priors above. Used to skip a trial that could not finish, with its refit,
    in the time left.
    """

    def __init__(self, train_fraction: float, n_folds: int, workers: int = 1) -> None:
        self.train_fraction = train_fraction
        self.n_folds = n_folds
        self.workers = workers  # processes timing trials side by side (see CONTENDED_SLOWDOWN)
        self._features: dict[str, float] = {}  # per representation, seconds per unit of weight
        self._cheapest_features = math.inf
        self._classifier: dict[tuple[str, str], float] = {}
        # untimed pairs are priced from the same classifier on another representation, or from
        # another classifier on the same one (seconds per unit of the other's weight)
        self._per_classifier: dict[str, float] = {}
        self._per_representation: dict[str, float] = {}
        self._lightest = math.inf  # the smallest featurizer weight timed (its folds may be cached)
        self._seen: set[int] = set()

    def sync(self, timed: Iterable[tuple[int, dict[str, Any], Timings | None]]) -> None:
        """Learn from trials timed elsewhere (other workers of the study), each once: their
        numbers, parameters and timings."""
        for number, params, timings in timed:
            if number not in self._seen and timings is not None:
                self._seen.add(number)
                self.record(params, timings)

    @staticmethod
    def _key(params: dict[str, Any]) -> tuple[str, str]:
        return str(params.get("representation")), str(params.get("classifier"))

    def record(self, params: dict[str, Any], timings: Timings | None) -> None:
        if timings is None:
            return
        features, classifier = timings.feature_seconds, timings.classifier_seconds
        rep, clf = self._key(params)
        self._cheapest_features = min(self._cheapest_features, features)
        # Seconds per unit of featurizer weight at these n-gram orders and analyzer, for both
        # parts of a fold: a classifier's fit grows with the features it is given as their
        # computing does (docs/design.md, "The budget and the cost model").
        weight = featurizer_weight(rep, params)
        self._features[rep] = max(self._features.get(rep, 0.0), features / weight)
        # classifier seconds at the classifier's reference size (LightGBM: 100 trees, ...)
        size = classifier_weight(clf, params) / classifier_weight(clf)
        self._classifier[rep, clf] = max(self._classifier.get((rep, clf), 0.0), classifier / size / weight)
        self._per_classifier[clf] = max(self._per_classifier.get(clf, 0.0), classifier / size / weight)
        self._per_representation[rep] = max(
            self._per_representation.get(rep, 0.0), classifier / classifier_weight(clf, params) / weight
        )
        self._lightest = min(self._lightest, weight)

    def expected(self, params: dict[str, Any], featurized: bool = False) -> tuple[float, float] | None:
        """Expected (trial seconds, refit seconds) of ``params``; None before any fold was timed.

        ``featurized``: the folds' features are cached, so the trial costs only its classifier.
        """
        if not self._features:
            return None
        features, classifier = self._fold(params)
        seconds = self.n_folds * ((0.0 if featurized else features) + classifier) * SAFETY
        return seconds, RefitPrice(self.train_fraction).fit(
            params, Timings(features, classifier, self.workers)
        )

    def affordable_share(self, params: dict[str, Any], seconds: float) -> float:
        """The largest share of each fold's training rows ``params`` can be fitted on within
        ``seconds`` (at most 1, less than 0 when not even the validation rows can be featurized):
        featurizing scales with the rows it reads, the classifier with the rows it fits."""
        if not self._features:
            return 1.0
        features, classifier = self._fold(params)
        fixed = self.n_folds * SAFETY * features * (1.0 - self.train_fraction)  # the validation rows
        per_share = self.n_folds * SAFETY * (features * self.train_fraction + classifier)
        return min((seconds - fixed) / per_share, 1.0) if per_share > 0 else 1.0

    def _fold(self, params: dict[str, Any]) -> tuple[float, float]:
        """Expected (featurizer, classifier) seconds of one fold of ``params``."""
        rep, clf = self._key(params)
        weight = featurizer_weight(rep, params)
        # an untimed representation: from the slowest featurizer unit seen
        features = self._features.get(rep, max(self._features.values())) * weight
        size = classifier_weight(clf, params) / classifier_weight(clf)
        return features, size * weight * self._classifier.get((rep, clf), self._prior(rep, clf))

    def _prior(self, rep: str, clf: str) -> float:
        """Classifier seconds per unit of featurizer weight (at the classifier's reference
        size) of a pair not yet timed.

        From the same classifier on another representation, or else from another classifier on
        the same representation, scaled by the classifiers' weights; only when neither was
        timed, from the slowest unit seen (which alone overprices by 100x and more).
        """
        if clf in self._per_classifier:
            return self._per_classifier[clf]
        discount = UNTIMED_DISCOUNT.get(clf, 1.0)
        if rep in self._per_representation:
            return self._per_representation[rep] * classifier_weight(clf) / discount
        return max(self._per_representation.values()) * classifier_weight(clf) / discount

    def cheapest(self) -> float | None:
        """Below this much time left, no trial can finish: the cheapest configuration timed, or
        the cheapest classifier's prior on features already cached (the first trial timed may
        be a slow one, while naive Bayes on its cached features takes a second).
        """
        if not self._features:
            return None
        timed = self._cheapest_features + min(self._classifier.values())
        swap = max(self._per_representation.values()) * self._lightest * min(CLASSIFIER_WEIGHT.values())
        return self.n_folds * min(timed, swap)
