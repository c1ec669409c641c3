"""Budget arithmetic: how long the search may run, and what to hold back for the refit."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from textauto.space.build import needs_calibration

# Temperature calibration (2 folds, ensemble=False) fits the classifier on each half of the
# data and once on all of it: about 2 classifier fits; the featurizer is fit once.
CALIBRATION_FACTOR = 2.0
SAFETY = 1.2  # timings wander; keep a margin
AFFORD_SLACK = 0.1  # share of the budget the winner's refit may overrun its estimate by


@dataclass
class Clock:
    """A deadline on ``time.monotonic()``; ``None`` means no time limit."""

    deadline: float | None
    started: float = field(default_factory=time.monotonic)

    @classmethod
    def from_budget(cls, seconds: float | None, started: float | None = None) -> Clock:
        start = time.monotonic() if started is None else started
        return cls(None if seconds is None else start + seconds, start)

    def left(self) -> float:
        return math.inf if self.deadline is None else self.deadline - time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def expired(self) -> bool:
        return self.left() <= 0


def process_started() -> float:
    """When this process started, on the ``time.monotonic()`` clock (Linux), else now.

    A command's budget covers interpreter start-up and imports too, not only the search.
    """
    try:
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        start_ticks = int(fields[19])  # field 22, counted after the process name
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        age = uptime - start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return time.monotonic()
    return time.monotonic() - min(max(age, 0.0), 60.0)


# Sparse classifier fits are bound by memory bandwidth: beside another worker they ran 2.1-2.2x
# slower than alone (NB-SVM on imdb: 14.0-14.8 s against 6.6 s; SGD on 20newsgroups' char
# n-grams: 19.7 s on 80% of the rows against 11.0 s on all of them), featurizing barely (imdb:
# 8.6-8.8 s against 8.6 s). The refit runs after the workers have stopped, so a classifier timed
# beside other workers (attribute ``workers`` > 1) is priced this much faster there: less than
# measured, for margin. Pricing it as timed held 20newsgroups' best trial (a 21 s refit) at 48 s
# and left it out of the saved ensemble.
CONTENDED_SLOWDOWN = 1.6


def refit_seconds(
    params: dict[str, Any], attrs: dict[str, Any], train_fraction: float, *, calibrated: bool = True
) -> float:
    """Expected seconds to refit a trial's pipeline on all data (with calibration if needed).

    A fold's featurizer time already covers every row (fit on train, transform validation);
    its classifier time grows with the share of rows it was fit on, and shrinks when it was
    timed beside other workers (``CONTENDED_SLOWDOWN``). Ensemble members take their
    probabilities from the out-of-fold scores instead: ``calibrated=False``.
    """
    features = attrs.get("feature_seconds")
    classifier = attrs.get("classifier_seconds")
    if features is None or classifier is None:
        return 0.0
    if attrs.get("workers", 1) > 1:
        classifier /= CONTENDED_SLOWDOWN
    if calibrated and needs_calibration(params):
        classifier *= CALIBRATION_FACTOR
    return (features + classifier / max(train_fraction, 0.05)) * SAFETY + 0.5


def final_seconds(
    params: dict[str, Any],
    attrs: dict[str, Any],
    train_fraction: float,
    predict_share: float,
    *,
    calibrated: bool = True,
) -> float:
    """``refit_seconds`` plus featurizing ``predict_share`` times the training rows afterwards."""
    predicting = float(attrs.get("feature_seconds", 0.0)) * predict_share * SAFETY
    return refit_seconds(params, attrs, train_fraction, calibrated=calibrated) + predicting


# Threads refitting ensemble members overlap imperfectly: each thread past the first counts as
# this much of one. Featurizers overlap as measured on ag_news (1.3-2x faster on 2 threads).
# Classifiers much less: their sparse fits are bound by memory bandwidth, as beside another
# worker (CONTENDED_SLOWDOWN). 20newsgroups' char_wb SGD, word SVM and word complement NB fit
# in 9.0, 6.2 and 2.0 s one by one, in 12.1 s on 2 threads (0.42 of a thread more); the
# manifests' refit_seconds at 2e1b4cc had the classifier phase take 16.4 s where 0.6 priced
# 13.6 (20newsgroups) and 24.1 s where it priced 18.4 (sst2, eight members), the featurizers
# 9.3 s for 9.0 and 9.5 s for 11.1.
THREAD_EFFICIENCY = {"featurizers": 0.6, "classifiers": 0.3}


def refit_phases(
    features: Sequence[float], classifiers: Sequence[float], workers: int
) -> tuple[float, float]:
    """Expected seconds to refit ensemble members on ``workers`` threads: their distinct
    featurizers (``features``, seconds each), which all fit first, then their classifiers."""

    def phase(seconds: Sequence[float], efficiency: float) -> float:
        speed = 1.0 + efficiency * (max(workers, 1) - 1)
        return max(max(seconds, default=0.0), sum(seconds) / speed)

    return (
        phase(features, THREAD_EFFICIENCY["featurizers"]),
        phase(classifiers, THREAD_EFFICIENCY["classifiers"]),
    )


def refit_makespan(features: Sequence[float], classifiers: Sequence[float], workers: int) -> float:
    """The two ``refit_phases`` together."""
    return sum(refit_phases(features, classifiers, workers))


def refit_parts(
    params: dict[str, Any], attrs: dict[str, Any], train_fraction: float, predict_share: float
) -> tuple[float, float]:
    """(featurizer, classifier) seconds of an ensemble member's ``final_seconds``: its refit
    without calibration, and featurizing the rows predicted after."""
    total = final_seconds(params, attrs, train_fraction, predict_share, calibrated=False)
    features = float(attrs.get("feature_seconds", 0.0)) * SAFETY * (1 + predict_share)
    return features, max(total - features, 0.0)


# Priors for configurations not yet timed, relative to word TF-IDF and a linear SVM (from the
# benchmark sets, with NgramTfidf: char 1-5-grams cost 3-5x word 1-2-grams per text; char_wb
# about half of char; classifier fits grow with the featurizer's output too).
FEATURIZER_WEIGHT = {"word": 1.0, "char": 4.5, "spacy": 4.0}
ANALYZER_WEIGHT = {"char_wb": 0.5}
CLASSIFIER_WEIGHT = {
    "linear_svc": 1.0, "sgd": 1.0, "ridge": 2.0, "logreg": 3.0, "nbsvm": 6.0,
    "complement_nb": 0.3, "multinomial_nb": 0.3, "lightgbm": 25.0,
}  # fmt: skip


# LightGBM's cost follows the rows, columns and classes, not the linear SVM's fit time its prior
# is scaled from (300 trees took 180x the SVM's time on trec6, 320x on ag_news, so a prior
# right for one set is 2x off for the other). Until it is timed on the data it is priced at a
# third of its prior: a trial that the prior rightly called too slow is stopped at its time
# limit (and priced from then on), one it wrongly called too slow gets its chance (trec6: an
# estimated 61 s, over the 60 s trial limit, for 22 s of work).
UNTIMED_DISCOUNT = {"lightgbm": 3.0}


def classifier_weight(classifier: str, params: dict[str, Any] | None = None) -> float:
    """Relative cost of a classifier fit; LightGBM's at ``params``' size (the weight above is
    for 100 trees seeing 10% of the columns; measured: time grows with trees x colsample^0.7)."""
    weight = CLASSIFIER_WEIGHT.get(classifier, 3.0)
    if classifier == "lightgbm" and params is not None:
        trees = float(params.get("lightgbm.n_estimators", 100)) / 100
        columns = float(params.get("lightgbm.colsample_bytree", 0.1)) / 0.1
        weight *= trees * columns**0.7
    return weight


# Featurizing time grows with the number of n-gram orders counted (measured on imdb: word
# 1-3-grams took 1.6x the time of 1-2-grams); the weights above are for these orders.
TYPICAL_ORDERS = {"word": 2, "char": 5, "spacy": 1}


def ngram_orders(part: str, params: dict[str, Any]) -> float:
    high = params.get(f"{part}.ngram_max")
    if high is None:
        return TYPICAL_ORDERS.get(part, 1)
    low = params.get(f"{part}.ngram_min", 1)
    return max(int(high) - int(low) + 1, 1)


def featurizer_weight(representation: str, params: dict[str, Any] | None = None) -> float:
    """Relative featurizing cost of a representation (at ``params``' n-gram orders, if given)."""
    total = 0.0
    for part in representation.split("+"):
        scale = 1.0
        if params is not None:
            scale = ngram_orders(part, params) / TYPICAL_ORDERS.get(part, 1)
            scale *= ANALYZER_WEIGHT.get(params.get(f"{part}.analyzer"), 1.0)
        total += FEATURIZER_WEIGHT.get(part, 4.0) * scale
    return total


def stopped_timings(trial: Any) -> dict[str, float] | None:
    """Lower bounds on the costs of a trial whose worker was stopped at its limit, else None.

    It ran for its whole ``limit``: featurizing the first fold for ``feature_seconds`` (when it
    got that far), fitting the classifier for the rest.
    """
    attrs = trial.user_attrs
    if trial.state.name != "PRUNED" or "limit" not in attrs or "stopped" in attrs:
        return None
    features = min(float(attrs.get("feature_seconds", attrs["limit"])), attrs["limit"])
    return {"feature_seconds": features, "classifier_seconds": attrs["limit"] - features}


# Dense float64 arrays of (features x outputs) a classifier holds while it fits. L-BFGS (logreg)
# keeps 10 pairs of steps and gradient changes beside its iterate, gradient and search direction:
# with 20 classes and 3M word n-grams, 13 GB (a 20newsgroups trial reached 6.8 GB before it was
# stopped). The others keep their coefficients and a copy or two (naive Bayes: counts and
# log-probabilities); a tree's size does not grow with the columns.
DENSE_COPIES = {
    "logreg": 26, "linear_svc": 3, "sgd": 3, "ridge": 3, "nbsvm": 3,
    "complement_nb": 4, "multinomial_nb": 4, "lightgbm": 0,
}  # fmt: skip


def classifier_megabytes(params: dict[str, Any], n_features: int, n_classes: int) -> float:
    """What the classifier of ``params`` holds in dense coefficients-sized arrays while it fits."""
    outputs = 1 if n_classes <= 2 else n_classes
    copies = DENSE_COPIES.get(str(params.get("classifier")), 3)
    return copies * n_features * outputs * 8 / 2**20


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

    def sync(self, trials: list[Any]) -> None:
        """Learn from trials timed elsewhere (other workers of the study), each once."""
        for t in trials:
            attrs = t.user_attrs if "classifier_seconds" in t.user_attrs else stopped_timings(t)
            if t.number not in self._seen and attrs is not None:
                self._seen.add(t.number)
                self.record(t.params, attrs)

    @staticmethod
    def _key(params: dict[str, Any]) -> tuple[str, str]:
        return str(params.get("representation")), str(params.get("classifier"))

    def record(self, params: dict[str, Any], attrs: dict[str, Any]) -> None:
        features, classifier = attrs.get("feature_seconds"), attrs.get("classifier_seconds")
        if features is None or classifier is None:
            return
        rep, clf = self._key(params)
        self._cheapest_features = min(self._cheapest_features, features)
        # Seconds per unit of featurizer weight at these n-gram orders and analyzer, for both
        # parts of a fold: a classifier's fit grows with the features it is given as their
        # computing does (20newsgroups: char_wb 2-5-grams' SGD, 20 s a fold, was priced from
        # char 1-5-grams' weight at 53 s, over the trial limit, and skipped).
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
        rep, clf = self._key(params)
        weight = featurizer_weight(rep, params)
        # an untimed representation: from the slowest featurizer unit seen
        features = self._features.get(rep, max(self._features.values())) * weight
        size = classifier_weight(clf, params) / classifier_weight(clf)
        classifier = size * weight * self._classifier.get((rep, clf), self._prior(rep, clf))
        attrs = {"feature_seconds": features, "classifier_seconds": classifier, "workers": self.workers}
        seconds = self.n_folds * ((0.0 if featurized else features) + classifier) * SAFETY
        return seconds, refit_seconds(params, attrs, self.train_fraction)

    def _prior(self, rep: str, clf: str) -> float:
        """Classifier seconds per unit of featurizer weight (at the classifier's reference
        size) of a pair not yet timed.

        From the same classifier on another representation, or else from another classifier on
        the same representation, scaled by the classifiers' weights; only when neither was
        timed, from the slowest unit seen. That unit alone priced trec6's ridge on word+char
        n-grams at 87 s (a word logistic regression, 4 s a fold, set it), and skipped it: 0.5 s.
        """
        if clf in self._per_classifier:
            return self._per_classifier[clf]
        discount = UNTIMED_DISCOUNT.get(clf, 1.0)
        if rep in self._per_representation:
            return self._per_representation[rep] * classifier_weight(clf) / discount
        return max(self._per_representation.values()) * classifier_weight(clf) / discount

    def cheapest(self) -> float | None:
        """Below this much time left, no trial can finish: the cheapest configuration timed, or
        the cheapest classifier's prior on features already cached.

        On 20newsgroups the first trial timed was a 20-class linear SVM (30 s a fold); taken as
        the cheapest, it stopped both workers with 77 s left, while naive Bayes on its cached
        features takes a second.
        """
        if not self._features:
            return None
        timed = self._cheapest_features + min(self._classifier.values())
        swap = max(self._per_representation.values()) * self._lightest * min(CLASSIFIER_WEIGHT.values())
        return self.n_folds * min(timed, swap)
