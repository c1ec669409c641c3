from __future__ import annotations

import numpy as np
import pytest

from textauto.validation.config import ValidationConfig
from textauto.validation.splits import choose_scheme, plan_validation, repeat_groups


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
    assert not plan.grouped and plan.description.startswith("stratified 5-fold cross-validation")


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


def _texts(n: int, chars: int) -> list[str]:
    return ["x" * chars] * n


@pytest.mark.parametrize(
    ("n", "chars", "budget", "expected"),
    [
        # a holdout of 320 rows measures too coarsely, even if k-fold costs much of the budget
        (1_600, 3_600, 30, ("kfold", 3)),
        (1_600, 3_600, 120, ("kfold", 5)),
        # many rows: the holdout's standard error is at most 0.8 points
        (20_000, 300, 120, ("holdout", 1)),
        # enough rows for a holdout: k-fold while the budget affords it, 3 folds, then a holdout
        (10_000, 2_000, 5_000, ("kfold", 5)),
        (10_000, 2_000, 300, ("kfold", 3)),
        (10_000, 2_000, 120, ("holdout", 1)),
        (10_000, 2_000, None, ("kfold", 5)),
    ],
)
def test_the_validation_scheme_follows_its_standard_error_and_the_budget(n, chars, budget, expected):
    scheme = choose_scheme(_texts(n, chars), ValidationConfig(), budget)
    assert (scheme.strategy, scheme.folds) == expected
    assert scheme.why


def test_a_configured_strategy_is_kept():
    texts = _texts(100, 10)
    assert choose_scheme(texts, ValidationConfig(strategy="holdout"), 10).strategy == "holdout"
    scheme = choose_scheme(_texts(50_000, 10), ValidationConfig(strategy="kfold", folds=7), 10)
    assert (scheme.strategy, scheme.folds) == ("kfold", 7)


def test_the_scheme_says_why():
    coarse = choose_scheme(_texts(1_600, 3_600), ValidationConfig(), 120)
    assert coarse.why == "a holdout of 320 rows would have a standard error up to 2.8 points"
    many = choose_scheme(_texts(20_000, 300), ValidationConfig(), 120)
    assert many.why == "20000 rows: the holdout's standard error is at most 0.8 points"


def test_the_plan_follows_the_scheme():
    texts, labels = _corpus(n=2_000, repeats=0)
    scheme = choose_scheme(texts, ValidationConfig(), None)
    plan = plan_validation(texts, labels, ValidationConfig(), 0, scheme)
    assert len(plan.splits) == scheme.folds == 5 and plan.why == scheme.why
    assert sorted(plan.oof_rows.tolist()) == list(range(2_000))


def test_small_data_repeats_its_folds_while_the_budget_affords_them():
    texts, labels = _corpus(n=300, repeats=0)
    scheme = choose_scheme(texts, ValidationConfig(), 120)
    assert (scheme.strategy, scheme.folds, scheme.repeats) == ("kfold", 5, 3)
    assert scheme.why.endswith("repeated 3 times: all 300 rows have a standard error up to 2.9 points")
    plan = plan_validation(texts, labels, ValidationConfig(), 0, scheme)
    assert (
        len(plan.splits) == 15 and plan.description == "stratified 5-fold cross-validation, repeated 3 times"
    )
    assert sorted(plan.scored_rows.tolist()) == list(range(300))
    assert len(plan.scored_rows) == 300  # each row once
    # the ensemble is chosen on one fit's score per row (the first repeat's), not on an average
    # of three fits, which would score a bagged ensemble
    scores = np.column_stack([plan.oof_rows, np.arange(900)]).astype(float)
    per_row = plan.per_row(scores)
    assert per_row[:, 0].tolist() == plan.scored_rows.tolist() and per_row[:, 1].max() < 300
    assert choose_scheme(texts, ValidationConfig(max_repeats=1), 120).repeats == 1
    assert choose_scheme(texts, ValidationConfig(strategy="kfold"), 120).repeats == 1
    assert choose_scheme(_texts(1_600, 100), ValidationConfig(), 120).repeats == 1  # 1.25 points
    assert choose_scheme(_texts(1_000, 3_600), ValidationConfig(), 30).repeats == 1  # unaffordable


def test_a_run_joining_a_study_validates_as_the_study_was_started(demo, tmp_path):
    from textauto import AutoTextClassifier

    texts, labels = demo
    storage = f"sqlite:///{tmp_path / 's.db'}"
    one = {"search": {"n_jobs": 1}, "validation": {"strategy": "kfold", "folds": 3}}
    first = AutoTextClassifier(storage=storage, n_trials=2, config=one).fit(texts, labels)
    assert first.search_result_.validation.folds == 3
    # the second run's own configuration would validate on 5 folds: the study's 3 are kept
    second = AutoTextClassifier(storage=storage, n_trials=4, config={"search": {"n_jobs": 1}})
    second.fit(texts, labels)
    plan = second.search_result_.validation
    assert (plan.strategy, plan.folds) == ("kfold", 3) and "3-fold" in plan.description
    assert plan.why == "as the study this run joins was started"
    assert len(second.study_.trials) >= 4


def test_the_standard_error_of_an_accuracy_is_the_binomial_one():
    from textauto.validation.metrics import METRICS, bootstrap_se

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 2_000)
    correct = rng.random(2_000) < 0.8  # 80% accuracy: sqrt(0.8 * 0.2 / 2000) = 0.0089
    proba = np.eye(2)[np.where(correct, y, 1 - y)]
    se = bootstrap_se(METRICS["accuracy"], y, proba, np.arange(2))
    assert 0.0075 < se < 0.0105


def test_the_standard_error_is_none_rather_than_nan_when_resamples_cannot_be_scored():
    from textauto.validation.metrics import METRICS, bootstrap_se

    y = np.array([0] * 50 + [1])  # one positive: most resamples miss it
    proba = np.column_stack([np.linspace(1, 0, 51), np.linspace(0, 1, 51)])
    se = bootstrap_se(METRICS["roc_auc"], y, proba, np.arange(2), rounds=3)
    assert se is None or np.isfinite(se)


def test_optimism_is_positive_when_the_in_sample_score_flatters_for_either_direction():
    from textauto.validation.metrics import METRICS, SelectionCheck

    assert SelectionCheck(METRICS["accuracy"], 0.90, 0.88).optimism == pytest.approx(0.02)
    assert SelectionCheck(METRICS["log_loss"], 0.30, 0.35).optimism == pytest.approx(0.05)
