"""How trials are validated: stratified k-fold, or a stratified holdout where that measures
finely enough and k-fold would cost too much."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import RepeatedStratifiedKFold, StratifiedKFold, StratifiedShuffleSplit

from textauto.validation.config import ValidationConfig
from textauto.validation.phrases import phrase_groups

# Seconds one fold of the reference pipeline (word TF-IDF and a linear SVM, featurized and
# fitted) takes per million characters of training text, on the benchmark sets' 2-core machine.
REFERENCE_SECONDS_PER_MCHAR = 0.4
FEWEST_FOLDS = 3


@dataclass(frozen=True)
class Scheme:
    """How candidates will be validated, chosen before the search, and why."""

    strategy: str  # "kfold" or "holdout"
    folds: int  # k for k-fold, 1 for a holdout
    why: str
    repeats: int = 1  # k-fold repeated on as many shuffles

    @property
    def min_per_class(self) -> int:
        # A holdout needs a row of each class on both sides of its split.
        return self.folds if self.strategy == "kfold" else 2

    @property
    def needs(self) -> str:
        """What the rows per class are needed for, for ``check_trainable``'s message."""
        return f"{self.folds}-fold validation" if self.strategy == "kfold" else "a holdout split"


def recorded_scheme(strategy: str, folds: int, repeats: int = 1) -> Scheme:
    """The scheme of a study this run continues or joins: its trials must be validated alike."""
    return Scheme(strategy, folds, "as the study this run joins was started", repeats)


def worst_case_se(rows: float) -> float:
    """The standard error of an accuracy measured on ``rows`` rows, at its largest (50%)."""
    return 0.5 / math.sqrt(max(rows, 1.0))


def choose_scheme(texts: Sequence[str], cfg: ValidationConfig, budget: float | None) -> Scheme:
    """The plan of ``_choose_scheme``, its k-fold repeated on small data while affordable."""
    scheme = _choose_scheme(texts, cfg, budget)
    if cfg.strategy != "auto" or scheme.strategy != "kfold" or len(texts) == 0:
        return scheme
    se = worst_case_se(len(texts))
    if se <= cfg.max_holdout_se:
        return scheme
    # Every row is validated and still measures coarsely: repeats average out the luck of one
    # partition (the rows' own noise stays). The budget must pay for them.
    trial = _fold_seconds(texts, scheme.folds) * cfg.reference_trials
    repeats = max(
        (r for r in range(1, cfg.max_repeats + 1) if budget is None or r * trial <= budget), default=1
    )
    if repeats == 1:
        return scheme
    coarse = f"all {len(texts)} rows have a standard error up to {100 * se:.1f} points"
    why = f"{scheme.why}; repeated {repeats} times: {coarse}"
    return Scheme("kfold", scheme.folds, why, repeats)


def _choose_scheme(texts: Sequence[str], cfg: ValidationConfig, budget: float | None) -> Scheme:
    """k-fold whenever a holdout would measure too coarsely or the budget affords the folds;
    else a holdout (docs/design.md, "Choosing the validation plan").

    A holdout of ``holdout_size`` x n rows measures accuracy with a standard error up to
    0.5 / sqrt(rows); k-fold validates every row. A k-fold trial fits k times on (k - 1) / k
    of the rows where a holdout fits once on 1 - ``holdout_size``: 5x the cost at 5 folds and
    a 20% holdout. It is priced before the search from the characters to featurize.
    """
    if cfg.strategy == "kfold":
        return Scheme("kfold", cfg.folds, "set in the configuration")
    if cfg.strategy == "holdout":
        return Scheme("holdout", 1, "set in the configuration")
    rows = len(texts) * cfg.holdout_size
    se = worst_case_se(rows)
    fewest = min(FEWEST_FOLDS, cfg.folds)
    if se > cfg.max_holdout_se:
        folds = _affordable_folds(texts, cfg, budget)
        why = f"a holdout of {rows:.0f} rows would have a standard error up to {100 * se:.1f} points"
        if folds != cfg.folds:
            why += f"; {fewest} folds: the budget cannot pay {cfg.reference_trials} trials of {cfg.folds}"
        return Scheme("kfold", folds or fewest, why)
    if len(texts) >= cfg.holdout_threshold:
        why = f"{len(texts)} rows: the holdout's standard error is at most {100 * se:.1f} points"
        return Scheme("holdout", 1, why)
    folds = _affordable_folds(texts, cfg, budget)
    if folds and budget is None:
        return Scheme("kfold", folds, "no time budget: every row validated")
    if folds:
        return Scheme("kfold", folds, f"the budget affords {cfg.reference_trials} trials of {folds} folds")
    why = (
        f"the budget cannot pay {cfg.reference_trials} trials of {fewest} folds; "
        f"the holdout's standard error is at most {100 * se:.1f} points"
    )
    return Scheme("holdout", 1, why)


def _affordable_folds(texts: Sequence[str], cfg: ValidationConfig, budget: float | None) -> int:
    """The most folds (``cfg.folds``, else 3) of which ``cfg.reference_trials`` reference trials
    fit in ``budget``; 0 when neither does."""
    for k in dict.fromkeys((cfg.folds, min(FEWEST_FOLDS, cfg.folds))):
        if budget is None or _fold_seconds(texts, k) * cfg.reference_trials <= budget:
            return k
    return 0


def _fold_seconds(texts: Sequence[str], folds: int) -> float:
    """What a reference trial of ``folds`` folds costs: each fits on (k - 1) / k of the text."""
    return (folds - 1) * sum(map(len, texts)) / 1e6 * REFERENCE_SECONDS_PER_MCHAR


@dataclass(frozen=True)
class PlanSummary:
    """What a run reports of its validation plan, without the splits."""

    description: str
    strategy: str
    folds: int  # 1 for a holdout
    why: str
    rows: int  # rows scored out of fold
    repeats: int = 1


@dataclass(frozen=True)
class ValidationPlan:
    strategy: str  # "kfold" or "holdout"
    splits: list[tuple[np.ndarray, np.ndarray]]
    grouping: str = ""  # what is kept on one side of every split, if anything
    why: str = ""  # why this strategy (``Scheme.why``)
    repeats: int = 1  # the k-fold partitions, one after the other in ``splits``

    @property
    def grouped(self) -> bool:
        return bool(self.grouping)

    @property
    def description(self) -> str:
        if self.strategy == "kfold":
            text = f"stratified {self.folds}-fold cross-validation"
            text += f", repeated {self.repeats} times" if self.repeats > 1 else ""
        else:
            text = f"stratified holdout ({len(self.splits[0][1])} validation rows)"
        return text + (f", {self.grouping} kept together" if self.grouping else "")

    @property
    def folds(self) -> int:
        return len(self.splits) // self.repeats

    @property
    def scheme(self) -> tuple[str, int, int]:
        """(strategy, folds, repeats), as a study records it so that every worker validates alike."""
        return self.strategy, self.folds, self.repeats

    @property
    def summary(self) -> PlanSummary:
        rows = len(self.scored_rows)
        return PlanSummary(self.description, self.strategy, self.folds, self.why, rows, self.repeats)

    @property
    def scored_rows(self) -> np.ndarray:
        """The rows the ensemble is chosen on, in the order ``per_row`` gives their scores: the
        first repeat's out-of-fold rows, each row once."""
        return np.concatenate([val for _, val in self.splits[: self.folds]])

    def per_row(self, scores: np.ndarray) -> np.ndarray:
        """Out-of-fold ``scores`` (one row per entry of ``oof_rows``) cut to ``scored_rows``: each
        row scored by one fit, as the refit model will score new rows. Averaging a row's repeats
        would score a small bagged ensemble instead, which validates higher than one fit."""
        return scores[: len(self.scored_rows)]

    @property
    def oof_rows(self) -> np.ndarray:
        """The rows scored out of fold, in the order trials store their validation scores."""
        return np.concatenate([val for _, val in self.splits])

    @property
    def train_fraction(self) -> float:
        """Share of the data one fit sees (to scale a fold's cost up to the final refit)."""
        train, val = self.splits[0]
        return len(train) / (len(train) + len(val))


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
    texts: Sequence[str],
    labels: Sequence[str],
    cfg: ValidationConfig,
    seed: int,
    scheme: Scheme | None = None,
) -> ValidationPlan:
    """Splits for ``labels`` by ``scheme`` (by default, as chosen with no time budget); call
    ``check_trainable`` with its ``min_per_class`` first.

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
    scheme = scheme or choose_scheme(texts, cfg, budget=None)
    strategy = scheme.strategy
    groups, grouping = None, ""
    if cfg.group_phrases:
        groups, grouping = phrase_groups(texts, seed), "phrases and the texts containing them"
    if groups is None and cfg.group_repeats:
        groups, grouping = repeat_groups(texts), "repeated texts"
    if groups is not None:
        first = np.unique(groups, return_index=True)[1]  # group ids count up from 0
        # every class needs a distinct text on each side of each split; else split rows
        distinct = np.unique(y[first], return_counts=True)[1]
        if len(distinct) == len(np.unique(y)) and distinct.min() >= scheme.min_per_class:
            group_splits = _split(scheme, y[first], cfg, seed)
            splits = []
            for _, val in group_splits:
                in_val = np.zeros(len(first), dtype=bool)
                in_val[val] = True
                splits.append((np.flatnonzero(~in_val[groups]), np.flatnonzero(in_val[groups])))
            return ValidationPlan(strategy, splits, grouping, scheme.why, scheme.repeats)
    return ValidationPlan(strategy, _split(scheme, y, cfg, seed), why=scheme.why, repeats=scheme.repeats)


def _split(
    scheme: Scheme, y: np.ndarray, cfg: ValidationConfig, seed: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    X = np.zeros(len(y))
    if scheme.strategy == "kfold" and scheme.repeats > 1:
        splitter = RepeatedStratifiedKFold(n_splits=scheme.folds, n_repeats=scheme.repeats, random_state=seed)
    elif scheme.strategy == "kfold":
        splitter = StratifiedKFold(n_splits=scheme.folds, shuffle=True, random_state=seed)
    else:
        n_classes = len(set(y))
        test_size = max(cfg.holdout_size, n_classes / len(y))
        splitter = StratifiedShuffleSplit(n_splits=1, test_size=test_size, random_state=seed)
    with warnings.catch_warnings():  # a class with fewer distinct texts than folds: still split
        warnings.simplefilter("ignore", UserWarning)
        return list(splitter.split(X, y))
