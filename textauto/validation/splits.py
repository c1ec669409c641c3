"""How trials are validated: stratified k-fold, or a stratified holdout on large data."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import StratifiedKFold, StratifiedShuffleSplit

from textauto.validation.config import ValidationConfig
from textauto.validation.phrases import phrase_groups


@dataclass(frozen=True)
class ValidationPlan:
    strategy: str  # "kfold" or "holdout"
    splits: list[tuple[np.ndarray, np.ndarray]]
    grouping: str = ""  # what is kept on one side of every split, if anything

    @property
    def grouped(self) -> bool:
        return bool(self.grouping)

    @property
    def description(self) -> str:
        if self.strategy == "kfold":
            text = f"stratified {len(self.splits)}-fold cross-validation"
        else:
            text = f"stratified holdout ({len(self.splits[0][1])} validation rows)"
        return text + (f", {self.grouping} kept together" if self.grouping else "")

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


def repeat_groups(texts: Sequence[str]) -> np.ndarray | None:
    """A group id per text, equal for texts that are the same but for case and white space;
    None when no text repeats."""
    ids: dict[str, int] = {}
    groups = np.fromiter(
        (ids.setdefault(" ".join(t.lower().split()), len(ids)) for t in texts),
        dtype=np.int64,
        count=len(texts),
    )
    return None if len(ids) == len(groups) else groups


def plan_validation(
    texts: Sequence[str], labels: Sequence[str], cfg: ValidationConfig, seed: int
) -> ValidationPlan:
    """Splits for ``labels`` (call ``check_trainable`` with ``min_per_class`` first).

    With ``cfg.group_repeats``, a text that repeats (SMS campaigns, retweets, templated
    tickets) is kept on one side of each split, stratified over the distinct texts (each
    labelled as its first copy): validation then scores texts never seen in training, as
    production traffic without repeats would. Off by default: a random test split holds
    repeats as often as a random validation split does.

    With ``cfg.group_phrases`` (the default), phrase-level data (most texts occur inside other
    texts, as in SST) keeps each phrase with the longest text containing it, repeats included
    (see ``textauto.validation.phrases``).
    """
    y = np.asarray(labels)
    strategy = choose_strategy(texts, cfg)
    groups, grouping = None, ""
    if cfg.group_phrases:
        groups, grouping = phrase_groups(texts, seed), "phrases and the texts containing them"
    if groups is None and cfg.group_repeats:
        groups, grouping = repeat_groups(texts), "repeated texts"
    if groups is not None:
        first = np.unique(groups, return_index=True)[1]  # group ids count up from 0
        # every class needs a distinct text on each side of each split; else split rows
        distinct = np.unique(y[first], return_counts=True)[1]
        if len(distinct) == len(np.unique(y)) and distinct.min() >= min_per_class(strategy, cfg):
            group_splits = _split(strategy, y[first], cfg, seed)
            splits = []
            for _, val in group_splits:
                in_val = np.zeros(len(first), dtype=bool)
                in_val[val] = True
                splits.append((np.flatnonzero(~in_val[groups]), np.flatnonzero(in_val[groups])))
            return ValidationPlan(strategy, splits, grouping)
    return ValidationPlan(strategy, _split(strategy, y, cfg, seed))


def _split(
    strategy: str, y: np.ndarray, cfg: ValidationConfig, seed: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    X = np.zeros(len(y))
    if strategy == "kfold":
        splitter = StratifiedKFold(n_splits=cfg.folds, shuffle=True, random_state=seed)
    else:
        n_classes = len(set(y))
        test_size = max(cfg.holdout_size, n_classes / len(y))
        splitter = StratifiedShuffleSplit(n_splits=1, test_size=test_size, random_state=seed)
    with warnings.catch_warnings():  # a class with fewer distinct texts than folds: still split
        warnings.simplefilter("ignore", UserWarning)
        return list(splitter.split(X, y))
