"""Trials the supervisor ends keep the reason in the study, and the leaderboard shows it."""

from __future__ import annotations

import optuna
from optuna.trial import TrialState

from textauto.bundle import leaderboard
from textauto.study import fail_interrupted_trials, fail_with_note, failure_notes


def test_fail_with_note_keeps_each_reason_and_the_leaderboard_shows_it(tmp_path):
    study = optuna.create_study(storage=f"sqlite:///{tmp_path / 's.db'}")
    first, second, done = study.ask(), study.ask(), study.ask()
    study.tell(done, 0.5)
    fail_with_note(study, [first.number], "stopped: one reason")
    fail_with_note(study, [second.number], "failed: another")
    fail_with_note(study, [], "never used")
    assert [t.state for t in study.trials] == [TrialState.FAIL, TrialState.FAIL, TrialState.COMPLETE]
    assert failure_notes(study) == {0: "stopped: one reason", 1: "failed: another"}
    notes = leaderboard(study.trials, "maximize", failure_notes(study)).set_index("trial")["note"]
    assert notes.to_dict() == {2: "", 0: "stopped: one reason", 1: "failed: another"}


def test_a_trial_s_own_error_comes_before_the_supervisor_s_note():
    study = optuna.create_study()
    trial = study.ask()
    trial.set_user_attr("error", "ValueError: bad")
    fail_with_note(study, [trial.number], "failed: its worker died")
    assert leaderboard(study.trials, "maximize", failure_notes(study))["note"][0] == "ValueError: bad"


def test_interrupted_trials_are_failed_with_a_note_on_resume(tmp_path):
    study = optuna.create_study(storage=f"sqlite:///{tmp_path / 's.db'}")
    study.ask()
    study.tell(study.ask(), 1.0)
    assert fail_interrupted_trials(study) == 1
    assert study.trials[0].state == TrialState.FAIL
    assert failure_notes(study) == {0: "failed: the run was interrupted while it ran (resumed after)"}
