"""A cheaper fidelity: a configuration too costly for the time left, fitted on a share of each
fold's training rows (docs/design.md, "The budget and the cost model").

Every validation row is still scored, so the trial leaves out-of-fold scores like any other and
the ensemble may take it; it is refit on all the rows like any other. Its timings are recorded
as what the full fidelity would have cost, for the cost model and the refit's price.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from textauto.cost.refit import Timings

# Below half the rows a fit says too little about the configuration, and a text model fitted on
# half of them scores close to one fitted on all (learning curves flatten on a log scale). A
# quarter was tried: costly configurations then ran early on a third of the rows, took the
# time of several cheaper trials and scored far below them (docs/design.md).
MIN_SHARE = 0.5


@dataclass(frozen=True)
class Fidelity:
    """Fit on ``share`` of each fold's training rows; a fold trains on ``train_fraction`` of all."""

    share: float = 1.0
    train_fraction: float = 0.8

    @property
    def full(self) -> bool:
        return self.share >= 1.0

    @property
    def featurized_share(self) -> float:
        """The share of a fold's featurizing this fidelity does: fitting on the kept training
        rows, transforming every validation row."""
        return self.train_fraction * self.share + 1.0 - self.train_fraction

    def at_full(self, timings: Timings) -> Timings:
        """What a fold timed at this fidelity would have cost at the full one."""
        return Timings(
            timings.feature_seconds / self.featurized_share,
            timings.classifier_seconds / self.share,
            timings.workers,
        )

    def rows(self, train: np.ndarray, labels: np.ndarray, seed: int, step: int) -> np.ndarray:
        """``share`` of the fold's ``train`` rows, at least one of each of their classes, in order."""
        if self.full:
            return train
        rng = np.random.default_rng([seed, step])
        kept = []
        for label in np.unique(labels[train]):
            rows = train[labels[train] == label]
            kept.append(rng.permutation(rows)[: max(1, round(self.share * len(rows)))])
        return np.sort(np.concatenate(kept))
