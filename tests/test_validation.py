from __future__ import annotations

import numpy as np
import pytest

from textauto.validation.config import ValidationConfig
from textauto.validation.splits import plan_validation, repeat_groups


def _corpus(n: int = 200, repeats: int = 30) -> tuple[list[str], list[str]]:
    texts = [f"message number {i}" for i in range(n)]
    labels = ["spam" if i % 4 == 0 else "ham" for i in range(n)]
    # a campaign sent many times, with case and spacing changes
    texts += ["WIN a prize  now" if i % 2 else "win a PRIZE now" for i in range(repeats)]
    labels += ["spam"] * repeats
    return texts, labels


def test_repeated_texts_share_a_group_whatever_their_case_and_spacing():
    groups = repeat_groups(["Hello  world", "hello world", "other", "HELLO WORLD\n"])
    assert groups.tolist() == [0, 0, 1, 0]
    assert repeat_groups(["a", "b", "c"]) is None


@pytest.mark.parametrize("strategy", ["kfold", "holdout"])
def test_repeated_texts_stay_on_one_side_of_every_split(strategy):
    texts, labels = _corpus()
    plan = plan_validation(texts, labels, ValidationConfig(strategy=strategy, group_repeats=True), seed=0)
    assert plan.grouped and "repeated texts kept together" in plan.description
    groups = repeat_groups(texts)
    for train, val in plan.splits:
        assert not set(groups[train]) & set(groups[val])
        assert sorted([*train, *val]) == list(range(len(texts)))  # every row on one side
    if strategy == "kfold":
        assert sorted(np.concatenate([v for _, v in plan.splits]).tolist()) == list(range(len(texts)))
    else:
        # a fifth of the distinct texts; the 30 copies of the campaign fall on one side
        assert len(plan.splits) == 1 and 0.1 < len(plan.splits[0][1]) / len(texts) < 0.4


def test_distinct_texts_are_split_as_before():
    texts, labels = _corpus(repeats=0)
    plan = plan_validation(texts, labels, ValidationConfig(group_repeats=True), seed=0)
    assert not plan.grouped and plan.description == "stratified 5-fold cross-validation"


def test_repeats_are_split_like_any_text_by_default():
    """A random test split holds repeats as often as a random validation split does."""
    texts, labels = _corpus()
    plan = plan_validation(texts, labels, ValidationConfig(), seed=0)
    assert not plan.grouped
    groups = repeat_groups(texts)
    assert any(set(groups[train]) & set(groups[val]) for train, val in plan.splits)


def test_a_class_made_of_one_repeated_text_is_split_by_rows():
    texts = [f"text {i}" for i in range(40)] + ["same"] * 6
    labels = ["a"] * 20 + ["b"] * 20 + ["c"] * 6
    plan = plan_validation(texts, labels, ValidationConfig(strategy="holdout", group_repeats=True), seed=0)
    assert not plan.grouped
    assert {labels[i] for i in plan.splits[0][1]} == {"a", "b", "c"}


def test_a_class_with_fewer_distinct_texts_than_folds_is_split_by_rows():
    texts = [f"text {i}" for i in range(40)] + ["same", "same", "other", "other", "third", "third"]
    labels = ["a"] * 20 + ["b"] * 20 + ["c"] * 6  # c: 3 distinct texts for 5 folds
    plan = plan_validation(texts, labels, ValidationConfig(strategy="kfold", group_repeats=True), seed=0)
    assert not plan.grouped
    assert all("c" in {labels[i] for i in train} for train, _ in plan.splits)
