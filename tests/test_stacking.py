from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from textauto.ensemble.classifier import EnsembleClassifier
from textauto.ensemble.greedy import Candidate
from textauto.ensemble.stacking import (
    STACK_C,
    Choice,
    Combiner,
    HeldOut,
    choose_combination,
    diverse_members,
    fit_stacker,
    prefer_average,
    settle_ties,
    stack_features,
    within_noise,
)
from textauto.inference import softmax
from textauto.validation.metrics import METRICS

CLASSES = np.array(["a", "b", "c"])


def _candidate(number: int, proba: np.ndarray, kind: str, cost: float = 1.0, key: str = "") -> Candidate:
    rep, clf = kind.split("+")
    return Candidate(
        number, {"representation": rep, "classifier": clf}, proba, 1.0, cost, feature_key=key or str(number)
    )


def _specialists(n: int = 600, seed: int = 0) -> tuple[np.ndarray, list[Candidate]]:
    """Three members, each sure and right on its own class and guessing elsewhere: only a
    stacker that reads each member's column for its class gets them all."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    members = []
    for k in range(3):
        scores = rng.normal(0.0, 0.3, size=(n, 3))
        scores[y == k, k] += 4.0  # sure on its class
        guess = rng.integers(0, 3, size=n)
        scores[np.arange(n), guess] += 3.5 * (y != k)  # elsewhere a confident guess
        members.append(_candidate(k, softmax(scores), f"word+m{k}"))
    return y, members


def test_fit_stacker_reads_each_member_where_it_is_sure():
    y, members = _specialists()
    stacker = fit_stacker([m.proba for m in members], y, 3, C=1.0)
    assert stacker is not None and stacker.coef.shape == (3, 9)
    stacked = stacker.proba([m.proba for m in members])
    averaged = sum(m.proba for m in members) / 3
    assert (stacked.argmax(1) == y).mean() > max(0.85, (averaged.argmax(1) == y).mean() + 0.05)
    assert np.allclose(stacked.sum(axis=1), 1.0)


def test_fit_stacker_refuses_a_class_missing_from_the_rows():
    y, members = _specialists()
    rows = y != 2
    assert fit_stacker([m.proba[rows] for m in members], y[rows], 3, C=1.0) is None


def test_choose_combination_stacks_complementary_specialists():
    y, members = _specialists()
    combo = choose_combination(members, y, CLASSES, METRICS["accuracy"], rounds=25, refit_budget=1e9)
    assert combo.kind == "stack" and combo.stacker is not None
    assert [m.number for m in combo.members] == [0, 1, 2]
    assert set(combo.scores) == {"single", "average", *(f"stack:{C}" for C in STACK_C)}
    assert combo.score == max(combo.scores.values()) > combo.scores["single"]
    assert combo.stacker.C in STACK_C


def test_an_average_and_a_stack_that_score_alike_give_the_stack():
    # two kinds, each confidently wrong on its own tenth of the rows and right elsewhere: the
    # average and the stack both get every row right, neither pipeline does alone
    y = np.arange(600) % 3
    members = []
    for k in range(2):
        scores = np.zeros((600, 3))
        scores[np.arange(600), y] = 3.0 if k == 0 else 5.0
        wrong = np.arange(600) % 10 == k
        scores[wrong, y[wrong]] = 0.0
        scores[wrong, (y[wrong] + 1) % 3] = 1.0
        members.append(_candidate(k, softmax(scores), ["word+svm", "char+ridge"][k]))
    combo = choose_combination(members, y, CLASSES, METRICS["accuracy"], rounds=25, refit_budget=1e9)
    assert combo.scores["average"] == combo.scores[f"stack:{STACK_C[0]}"] == 1.0 > combo.scores["single"]
    assert combo.kind == "stack"


def test_choose_combination_keeps_the_best_pipeline_when_nothing_helps():
    rng = np.random.default_rng(1)
    y = np.arange(300) % 3
    exact = np.full((300, 3), -3.0)
    exact[np.arange(300), y] = 3.0
    noise = rng.normal(size=(300, 3))
    # one kind: nothing to stack; greedy selection keeps the exact member alone
    members = [_candidate(0, softmax(exact), "word+svm"), _candidate(1, softmax(noise), "word+svm")]
    combo = choose_combination(members, y, CLASSES, METRICS["accuracy"], rounds=25, refit_budget=1e9)
    assert combo.kind == "single" and [m.number for m in combo.members] == [0]
    assert combo.weights == {0: 1.0} and combo.score == 1.0


def _held(scores, loss=0.5):
    return HeldOut(list(scores), [loss] * len(scores))


SINGLE, AVERAGE, STACK = Choice(Combiner.SINGLE), Choice(Combiner.AVERAGE), Choice(Combiner.STACK, 0.3)


def test_a_single_pipeline_tied_with_an_ensemble_gives_way_to_it():
    accuracy = METRICS["accuracy"]
    perfect = {SINGLE: _held([1.0] * 5), AVERAGE: _held([1.0] * 5, 0.01), STACK: _held([1.0] * 5, 0.1)}
    # equal scores: the stack, whatever the average's loss (its temperatures saw these rows)
    assert settle_ties(SINGLE, perfect, accuracy) == STACK
    sharper = Choice(Combiner.STACK, 3.0)
    perfect[sharper] = _held([1.0] * 5, 0.05)
    assert settle_ties(SINGLE, perfect, accuracy) == sharper  # between stacks, the lower loss
    noisy = {
        SINGLE: _held([0.70, 0.66, 0.72, 0.64, 0.70]),
        AVERAGE: _held([0.68, 0.67, 0.70, 0.66, 0.69]),  # 0.004 lower, within the folds' noise
        STACK: _held([0.60, 0.58, 0.61, 0.57, 0.60]),
    }
    assert settle_ties(SINGLE, noisy, accuracy) == AVERAGE


def test_a_single_pipeline_ahead_beyond_the_noise_is_kept():
    accuracy = METRICS["accuracy"]
    held = {SINGLE: _held([0.90, 0.91, 0.89, 0.90, 0.92]), AVERAGE: _held([0.85, 0.86, 0.86, 0.84, 0.85])}
    assert settle_ties(SINGLE, held, accuracy) == SINGLE
    assert settle_ties(AVERAGE, held, accuracy) == AVERAGE  # an ensemble chosen stays chosen


def test_ties_are_read_in_the_metric_s_direction():
    log_loss = METRICS["log_loss"]
    held = {SINGLE: _held([0.30, 0.31, 0.29, 0.30, 0.30]), STACK: _held([0.40, 0.42, 0.41, 0.40, 0.39])}
    assert settle_ties(SINGLE, held, log_loss) == SINGLE  # the stack's loss is clearly higher
    held[STACK] = _held([0.30, 0.30, 0.30, 0.31, 0.29])
    assert settle_ties(SINGLE, held, log_loss) == STACK


def test_a_stack_ahead_of_the_average_only_within_the_noise_gives_way_to_it():
    accuracy = METRICS["accuracy"]
    average = _held([0.820, 0.812, 0.831, 0.808, 0.825])
    close = {AVERAGE: average, STACK: _held([0.830, 0.804, 0.837, 0.804, 0.831])}  # +0.002, noisy
    assert prefer_average(STACK, close, accuracy) == AVERAGE
    clear = {AVERAGE: average, STACK: _held([0.840, 0.831, 0.850, 0.829, 0.846])}  # +0.020 on every fold
    assert prefer_average(STACK, clear, accuracy) == STACK
    equal = {AVERAGE: _held([1.0] * 5), STACK: _held([1.0] * 5)}  # every fold perfect: the stack
    assert prefer_average(STACK, equal, accuracy) == STACK
    assert prefer_average(SINGLE, close | {SINGLE: average}, accuracy) == SINGLE
    assert prefer_average(STACK, {STACK: close[STACK]}, accuracy) == STACK  # no average compared


def test_a_stack_behind_the_average_is_not_swapped_for_it():
    # chosen by settle_ties among ensembles tied with the single pipeline, the average not among them
    log_loss = METRICS["log_loss"]
    held = {AVERAGE: _held([0.30, 0.31, 0.29, 0.30, 0.30]), STACK: _held([0.32, 0.31, 0.33, 0.30, 0.31])}
    assert prefer_average(STACK, held, log_loss) == STACK
    held[STACK] = _held([0.299, 0.312, 0.288, 0.299, 0.301])  # lower loss, within the noise
    assert prefer_average(STACK, held, log_loss) == AVERAGE


def test_choose_combination_with_ensembles_off_does_no_folds():
    y, members = _specialists()
    combo = choose_combination(members, y, CLASSES, METRICS["accuracy"], rounds=1, refit_budget=1e9)
    assert combo.kind == "single" and combo.scores == {}


def test_choose_combination_on_a_minimised_metric():
    y, members = _specialists()
    combo = choose_combination(members, y, CLASSES, METRICS["log_loss"], rounds=25, refit_budget=1e9)
    assert combo.kind != "single"
    assert combo.score == min(combo.scores.values()) < combo.scores["single"]


def test_diverse_members_take_one_per_pipeline_kind_within_the_refit_budget():
    p = softmax(np.zeros((4, 3)))
    candidates = [
        _candidate(0, p, "word+svm", cost=4.0),
        _candidate(1, p, "word+svm", cost=1.0),  # the same kind as the best: skipped
        _candidate(2, p, "char+svm", cost=20.0),  # too slow to refit beside the first
        _candidate(3, p, "word+nb", cost=2.0),
    ]
    members = diverse_members(candidates, refit_budget=10.0, workers=1)
    assert [m.number for m in members] == [0, 3]
    assert [m.number for m in diverse_members(candidates, 1e9, 1, k=2)] == [0, 2]


def test_ensemble_classifier_applies_a_stack_to_its_members():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(90, 4))
    y = np.array(["a", "b", "c"])[np.arange(90) % 3]
    X[np.arange(90), np.arange(90) % 3] += 2.0
    members = [
        ("m0", Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression(C=0.1))])),
        ("m1", Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression(C=10.0))])),
    ]
    plain = EnsembleClassifier(members, temperatures=[1.0, 2.0]).fit(X, y)
    probas = plain.member_probas(X)
    stacker = fit_stacker(probas, np.searchsorted(plain.classes_, y), 3, C=1.0)
    stacked = EnsembleClassifier(
        members, temperatures=[1.0, 2.0], stack_coef=stacker.coef, stack_intercept=stacker.intercept
    ).fit(X, y)
    assert np.allclose(stacked.predict_proba(X), stacker.proba(probas))
    assert set(stacked.predict(X)) <= set(plain.classes_)
    assert stack_features(probas).shape == (90, 6)


def test_ensemble_classifier_rejects_a_stack_of_the_wrong_shape():
    X = np.arange(12, dtype=float).reshape(6, 2)
    y = ["a", "b", "c"] * 2
    members = [("m0", LogisticRegression()), ("m1", LogisticRegression())]
    with pytest.raises(ValueError, match=r"2 members of 3 classes need \(3, 6\) and \(3,\)"):
        EnsembleClassifier(members, stack_coef=np.zeros((3, 4)), stack_intercept=np.zeros(3)).fit(X, y)
    with pytest.raises(ValueError, match="go together"):
        EnsembleClassifier(members, stack_coef=np.zeros((3, 6))).fit(X, y)


def test_choose_combination_skips_stacking_past_its_size_bound(monkeypatch):
    y, members = _specialists()
    monkeypatch.setattr("textauto.ensemble.stacking.STACK_MAX_CELLS", len(y) * 3 * 27 - 1)
    combo = choose_combination(members, y, CLASSES, METRICS["accuracy"], rounds=25, refit_budget=1e9)
    assert set(combo.scores) == {"single", "average"} and combo.kind != "stack"


def test_within_noise_refuses_scores_of_different_folds():
    with pytest.raises(ValueError, match="differ in length: 5 and 4"):
        within_noise(_held([0.9] * 5), _held([0.9] * 4), METRICS["accuracy"])
