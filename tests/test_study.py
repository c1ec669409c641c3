"""Trials the supervisor ends keep the reason in the study, and the leaderboard shows it."""

from __future__ import annotations

import optuna
from optuna.trial import TrialState

from textauto.bundle import leaderboard
from textauto.exceptions import ConfigError
from textauto.search.study import fail_with_note, failure_notes


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


def test_a_storage_that_cannot_be_reached_is_named_without_its_password(invoke, tmp_path):
    from tests.conftest import DEMO_TRAIN

    url = "postgresql://postgres:secret@127.0.0.1:1/test"  # nothing listens on port 1
    result = invoke("train", DEMO_TRAIN, "--storage", url, "--n-trials", "1", "--out", tmp_path / "m")
    assert result.exit_code == 2
    assert (
        "--storage postgresql://postgres:***@127.0.0.1:1/test: cannot open the study storage" in result.stderr
    )
    assert "Connection refused" in result.stderr
    assert "secret" not in result.output + result.stderr
    assert "Traceback" not in result.stderr


def test_a_worker_that_loses_the_race_to_create_the_tables_tries_again(monkeypatch):
    """Two workers on a new PostgreSQL database: one saw a unique violation on Optuna's enum type."""
    import sqlalchemy

    import textauto.search.study as study_module

    calls = []

    class Racing:
        def __init__(self, url, **kwargs):
            calls.append(url)
            if len(calls) == 1:
                raise sqlalchemy.exc.IntegrityError(
                    "CREATE TYPE studydirection", {}, Exception("duplicate key")
                )

    monkeypatch.setattr(study_module.optuna.storages, "RDBStorage", Racing)
    monkeypatch.setattr(study_module, "SCHEMA_RETRY_SECONDS", 0.0)
    assert isinstance(study_module.make_storage("postgresql://db/test"), Racing)
    assert len(calls) == 2


def test_a_storage_whose_tables_never_appear_is_not_retried_forever(monkeypatch):
    import pytest
    import sqlalchemy

    import textauto.search.study as study_module

    calls = []

    def failing(url, **kwargs):
        calls.append(url)
        raise sqlalchemy.exc.IntegrityError("CREATE TABLE studies", {}, Exception("duplicate key"))

    monkeypatch.setattr(study_module.optuna.storages, "RDBStorage", failing)
    monkeypatch.setattr(study_module, "SCHEMA_RETRY_SECONDS", 0.0)
    with pytest.raises(
        ConfigError, match="--storage postgresql://db/test: cannot create the study tables: duplicate key"
    ):
        study_module.make_storage("postgresql://db/test")
    assert len(calls) == study_module.SCHEMA_ATTEMPTS
