"""Which trial leads: a lead within the noise of the paired fold scores goes to the earlier trial."""

from __future__ import annotations

import json
import statistics

import optuna
import pytest

from textauto.bundle.board import leaderboard
from textauto.report.markdown import render_report
from textauto.search.ranking import leading_trials, ranked_trials
from textauto.search.run import best_trial
from textauto.validation.metrics import METRICS

ACCURACY = METRICS["accuracy"]


def _study(*runs: tuple[str, list[float]], direction: str = "maximize") -> optuna.Study:
    """Trials in this order (numbers 0, 1, ...), each a classifier with its fold scores."""
    study = optuna.create_study(direction=direction)
    for classifier, folds in runs:
        params = {"representation": "word", "classifier": classifier}
        dists = {k: optuna.distributions.CategoricalDistribution([v]) for k, v in params.items()}
        study.add_trial(
            optuna.trial.create_trial(
                params=params, distributions=dists, value=statistics.fmean(folds) if folds else 0.5,
                user_attrs={"fold_scores": folds} if folds else {},
            )
        )  # fmt: skip
    return study


def _numbers(study: optuna.Study, metric=ACCURACY) -> list[int]:
    return [t.number for t in ranked_trials(study, metric)]


def test_a_later_trial_ahead_only_within_the_noise_ranks_after_the_earlier():
    # +0.004 on average, but behind on two folds of five: luck, not merit
    study = _study(("ridge", [0.80, 0.82, 0.79, 0.81, 0.80]), ("sgd", [0.83, 0.80, 0.81, 0.79, 0.81]))
    assert _numbers(study) == [0, 1]
    assert best_trial(study, ACCURACY).number == 0


def test_a_later_trial_ahead_beyond_the_noise_leads():
    study = _study(("ridge", [0.80, 0.82, 0.79, 0.81, 0.80]), ("sgd", [0.82, 0.84, 0.81, 0.83, 0.82]))
    assert _numbers(study) == [1, 0]
    assert best_trial(study, ACCURACY).number == 1


def test_a_lead_on_a_single_fold_does_not_count():
    """The 300-row case: many trials perfect on every fold, an earlier one wrong once."""
    early = [1.0] * 14 + [0.95]
    study = _study(("ridge", early), ("nb", [1.0] * 15), ("nb", [1.0] * 15), ("sgd", [1.0] * 13 + [0.95] * 2))
    assert _numbers(study) == [0, 1, 2, 3]


def test_equal_scores_rank_the_earlier_trial_first():
    study = _study(("ridge", [0.8, 0.9]), ("sgd", [0.9, 0.8]), ("nb", [0.8, 0.9]))
    assert _numbers(study)[:1] == [0]


def test_the_noise_is_read_in_the_metric_s_direction():
    log_loss = METRICS["log_loss"]
    noisy = _study(
        ("ridge", [0.40, 0.38, 0.41, 0.39, 0.40]),
        ("sgd", [0.37, 0.40, 0.39, 0.41, 0.40]),
        direction="minimize",
    )
    assert _numbers(noisy, log_loss) == [0, 1]
    clear = _study(
        ("ridge", [0.40, 0.38, 0.41, 0.39, 0.40]),
        ("sgd", [0.35, 0.33, 0.36, 0.34, 0.35]),
        direction="minimize",
    )
    assert _numbers(clear, log_loss) == [1, 0]


def test_trials_without_fold_scores_rank_by_score_alone():
    """Studies written before fold scores were recorded."""
    study = _study(("ridge", []), ("sgd", []))
    study.add_trial(optuna.trial.create_trial(params={}, distributions={}, value=0.9))
    assert _numbers(study) == [2, 0, 1]


def test_leading_trials_follow_the_ranking_and_add_each_kind_s_leader():
    study = _study(
        ("ridge", [0.80, 0.82, 0.79, 0.81, 0.80]),
        ("sgd", [0.83, 0.80, 0.81, 0.79, 0.81]),  # within the noise of ridge
        ("nb", [0.70, 0.71, 0.69, 0.70, 0.70]),
        ("sgd", [0.835, 0.805, 0.815, 0.795, 0.815]),  # ahead of trial 1 on every fold
    )
    leaders = leading_trials(study, ACCURACY, 2)
    # ridge (earlier, within the noise of the best), then the sgd ahead of the other beyond it
    assert [t.number for t in leaders] == [0, 3, 2]
    assert leaders[2].value == pytest.approx(0.70)  # naive Bayes, its kind's only trial


def test_the_leaderboard_follows_the_ranking_and_says_why_a_lower_score_leads():
    study = _study(
        ("ridge", [0.80, 0.82, 0.79, 0.81, 0.80]),
        ("nb", [0.60, 0.61, 0.59, 0.60, 0.60]),
        ("sgd", [0.83, 0.80, 0.81, 0.79, 0.81]),  # within the noise of ridge
    )
    board = leaderboard(study.trials, "maximize")
    assert board["trial"].tolist() == [0, 2, 1]
    assert board["note"][0] == (
        "ranked above trial 2, whose higher score leads it within the noise of their fold scores: "
        "this one ran first"
    )
    assert board["note"][1:].tolist() == ["", ""]


def test_the_leaderboard_note_names_the_trial_that_led_when_it_was_ranked():
    # trial 1 is noisy: within the noise of the leader, trial 2, so pulled above it and above
    # trial 0 (which only trial 2, not trial 1, was compared with)
    study = _study(("ridge", [0.85] * 5), ("sgd", [1.0, 0.6, 1.0, 0.6, 0.8]), ("nb", [0.87] * 5))
    board = leaderboard(study.trials, "maximize")
    assert board["trial"].tolist() == _numbers(study) == [1, 2, 0]
    assert board["note"][0].startswith("ranked above trial 2,")
    assert board["note"][1:].tolist() == ["", ""]  # trial 2 led when it was ranked, then trial 0


def test_a_trial_with_a_missing_fold_score_is_still_ranked_once():
    study = _study(("sgd", [0.8, 0.8, 0.8]))
    folds = {"fold_scores": [0.9, float("nan"), 0.9]}
    study.add_trial(optuna.trial.create_trial(params={}, distributions={}, value=0.9, user_attrs=folds))
    assert _numbers(study) == [1, 0]


def test_the_report_s_leaderboard_shows_why_a_lower_score_leads(trained_bundle):
    manifest = json.loads((trained_bundle / "manifest.json").read_text())
    study = _study(("ridge", [0.80, 0.82, 0.79, 0.81, 0.80]), ("sgd", [0.83, 0.80, 0.81, 0.79, 0.81]))
    assert "ranked above trial 1" in render_report(manifest, leaderboard(study.trials, "maximize"))
    plain = _study(("ridge", [0.80, 0.82, 0.79, 0.81, 0.80]), ("sgd", [0.82, 0.84, 0.81, 0.83, 0.82]))
    assert "| note |" not in render_report(manifest, leaderboard(plain.trials, "maximize"))
