"""How trials are validated: stratified k-fold, or a stratified holdout on large data."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import StratifiedKFold, StratifiedShuffleSplit

from textauto.config import ValidationConfig


@dataclass(frozen=True)
class ValidationPlan:
    strategy: str  # "kfold" or "holdout"
    splits: list[tuple[np.ndarray, np.ndarray]]

    @property
    def description(self) -> str:
        if self.strategy == "kfold":
            return f"stratified {len(self.splits)}-fold cross-validation"
        n_val = len(self.splits[0][1])
        return f"stratified holdout ({n_val} validation rows)"

    @property
    def oof_rows(self) -> np.ndarray:
        """The rows scored out of fold, in the order trials store their validation scores."""
        return np.concatenate([val for _, val in self.splits])

    @property
    def train_fraction(self) -> float:
        """Share of the data one fit sees (to scale a fold's cost up to the final refit)."""
        train, val = self.splits[0]
        return len(train) / (len(train) + len(val))


def choose_strategy(texts: Sequence[str], cfg: ValidationConfig) -> str:
    """k-fold, or a holdout when the data is large in rows or in text (each fold costs a full fit)."""
    if cfg.strategy != "auto":
        return cfg.strategy
    large = len(texts) >= cfg.holdout_threshold or sum(map(len, texts)) >= cfg.holdout_threshold_chars
    return "holdout" if large else "kfold"


def min_per_class(strategy: str, cfg: ValidationConfig) -> int:
    if strategy == "kfold":
        return cfg.folds
    # Each class needs a row on both sides of the holdout split.
    return 2


def plan_validation(
    texts: Sequence[str], labels: Sequence[str], cfg: ValidationConfig, seed: int
) -> ValidationPlan:
    """Splits for ``labels`` (call ``check_trainable`` with ``min_per_class`` first)."""
    y = np.asarray(labels)
    strategy = choose_strategy(texts, cfg)
    X = np.zeros(len(y))
    if strategy == "kfold":
        splitter = StratifiedKFold(n_splits=cfg.folds, shuffle=True, random_state=seed)
    else:
        n_classes = len(set(labels))
        test_size = max(cfg.holdout_size, n_classes / len(y))
        splitter = StratifiedShuffleSplit(n_splits=1, test_size=test_size, random_state=seed)
    splits = list(splitter.split(X, y))
    return ValidationPlan(strategy, splits)
