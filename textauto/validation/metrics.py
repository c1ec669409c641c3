"""Validation metrics: what each needs from a model and which way is better."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from sklearn import metrics as skm

from textauto.exceptions import ConfigError


@dataclass(frozen=True)
class Metric:
    name: str
    direction: Literal["maximize", "minimize"]
    needs: Literal["label", "proba", "score"]
    fn: Callable[..., float]
    binary_only: bool = False

    def __call__(self, model: Any, X: Any, y: Any) -> float:
        if self.needs == "label":
            return float(self.fn(y, model.predict(X)))
        if self.needs == "proba":
            return float(self.fn(y, model.predict_proba(X), labels=model.classes_))
        return float(self.fn(y, positive_scores(model, X)))

    def from_proba(self, y: Any, proba: np.ndarray, classes: np.ndarray) -> float:
        """The metric of a probability matrix (columns in ``classes``), e.g. an ensemble's."""
        if self.needs == "label":
            return float(self.fn(y, classes[proba.argmax(axis=1)]))
        if self.needs == "proba":
            return float(self.fn(y, proba, labels=classes))
        return float(self.fn(y, proba[:, 1]))

    def check_classes(self, n_classes: int, source: str) -> None:
        """Refuse, before any search, a binary-only metric for data with more classes."""
        if self.binary_only and n_classes != 2:
            usable = ", ".join(name for name, m in METRICS.items() if not m.binary_only)
            raise ConfigError(
                f"metric {self.name!r} needs exactly 2 classes; {source} has {n_classes}: "
                f"choose another metric ({usable})"
            )

    def better(self, a: float, b: float) -> bool:
        """Whether ``a`` beats ``b``."""
        return a > b if self.direction == "maximize" else a < b


def bootstrap_se(
    metric: Metric, y: np.ndarray, proba: np.ndarray, classes: np.ndarray, seed: int = 0, rounds: int = 200
) -> float | None:
    """The standard error of ``metric`` measured on these rows: its spread over resamples of
    them; None when fewer than two resamples could be scored (ROC AUC needs both classes)."""
    rng = np.random.default_rng(seed)
    predicted = classes[proba.argmax(axis=1)] if metric.needs == "label" else None
    scores = []
    with warnings.catch_warnings():  # a resample missing a class: not scored
        warnings.simplefilter("ignore")
        for _ in range(rounds):
            rows = rng.integers(0, len(y), len(y))
            try:
                if predicted is not None:
                    score = float(metric.fn(y[rows], predicted[rows]))
                else:
                    score = metric.from_proba(y[rows], proba[rows], classes)
            except ValueError:
                continue
            if math.isfinite(score):
                scores.append(score)
    return float(np.std(scores, ddof=1)) if len(scores) > 1 else None


def within_one_se(lead: np.ndarray, others: np.ndarray) -> np.ndarray:
    """For each row of ``others`` (paired scores, higher is better): whether ``lead`` beats it
    by at most one standard error of their paired difference (equals always are)."""
    gaps = lead - others
    se = gaps.std(axis=-1, ddof=1) / np.sqrt(gaps.shape[-1])
    # a lead on a single fold is exactly one standard error: rounding must not decide it
    return gaps.mean(axis=-1) <= se + 1e-12


@dataclass(frozen=True)
class SelectionCheck:
    """How far the validation score of the saved model flatters it: its score on the rows that
    chose it, against rows that played no part in choosing it (the winner's curse)."""

    metric: Metric
    in_sample: float  # on the out-of-fold rows that ranked the trials and fitted the combiner
    held_out: float  # on held-out folds of those rows, chosen and fitted on the other folds

    @property
    def optimism(self) -> float:
        """In-sample minus held-out, positive when the in-sample score flatters."""
        gap = self.in_sample - self.held_out
        return gap if self.metric.direction == "maximize" else -gap


def positive_scores(model: Any, X: Any) -> np.ndarray:
    """Scores for ``classes_[1]`` from ``decision_function``, or else ``predict_proba``."""
    if hasattr(model, "decision_function"):
        return np.asarray(model.decision_function(X))
    return np.asarray(model.predict_proba(X))[:, 1]


def _macro_f1(y: Any, p: Any) -> float:
    return skm.f1_score(y, p, average="macro", zero_division=0)


def _weighted_f1(y: Any, p: Any) -> float:
    return skm.f1_score(y, p, average="weighted", zero_division=0)


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("accuracy", "maximize", "label", skm.accuracy_score),
        Metric("macro_f1", "maximize", "label", _macro_f1),
        Metric("weighted_f1", "maximize", "label", _weighted_f1),
        Metric("balanced_accuracy", "maximize", "label", skm.balanced_accuracy_score),
        Metric("log_loss", "minimize", "proba", skm.log_loss),
        Metric("roc_auc", "maximize", "score", skm.roc_auc_score, binary_only=True),
    )
}
