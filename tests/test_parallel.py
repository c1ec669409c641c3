from __future__ import annotations

import time

import optuna
import pytest

from textauto.config import build_config
from textauto.exceptions import ConfigError
from textauto.search.workers import available_cores, join_workers, resolve_n_jobs, start_workers


def _sleep_forever(index: int) -> None:
    time.sleep(600)


def _quick(index: int) -> None:
    pass


def test_join_stops_a_worker_that_would_delay_the_refit(tmp_path):
    study = optuna.create_study(storage=f"sqlite:///{tmp_path / 's.db'}")
    procs = start_workers(1, _sleep_forever)
    started = time.monotonic()
    join_workers(procs, 0.5, study)
    assert time.monotonic() - started < 10
    assert not procs[0].is_alive()


def _trial_then_sleep(storage: str, index: int) -> None:
    from textauto.search.workers import worker_id

    trial = optuna.load_study(study_name="s", storage=storage).ask()
    trial.set_user_attr("worker", worker_id())
    time.sleep(600)


def test_join_fails_the_stopped_worker_s_trial_with_a_note(tmp_path):
    import functools

    from textauto.search.study import failure_notes

    storage = f"sqlite:///{tmp_path / 's.db'}"
    study = optuna.create_study(study_name="s", storage=storage)
    procs = start_workers(1, functools.partial(_trial_then_sleep, storage))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not (study.trials and "worker" in study.trials[0].user_attrs):
        time.sleep(0.1)
    join_workers(procs, 0.0, study)
    assert study.trials[0].state == optuna.trial.TrialState.FAIL
    assert failure_notes(study) == {0: "stopped: still running when the search ended (the refit had begun)"}


def test_join_waits_for_workers_that_finish():
    procs = start_workers(2, _quick)
    join_workers(procs, 30.0, optuna.create_study())
    assert [p.exitcode for p in procs] == [0, 0]


def test_n_jobs_defaults_to_every_core():
    assert build_config().search.n_jobs == -1
    assert resolve_n_jobs(-1) == available_cores() >= 1
    assert resolve_n_jobs(3) == 3


@pytest.mark.parametrize("value", [0, -2])
def test_n_jobs_must_be_minus_one_or_positive(value):
    with pytest.raises(ConfigError, match=r"search.n_jobs.*-1 \(all cores\) or at least 1"):
        build_config(overrides={"search.n_jobs": value})


def _spawn_sleeping_worker(pid_file: str) -> None:
    import pathlib

    procs = start_workers(1, _sleep_forever)
    pathlib.Path(pid_file).write_text(str(procs[0].pid))
    time.sleep(600)


def test_workers_die_with_a_killed_parent(tmp_path):
    import multiprocessing
    import os
    import signal

    pid_file = tmp_path / "worker.pid"
    parent = multiprocessing.get_context("fork").Process(target=_spawn_sleeping_worker, args=(str(pid_file),))
    parent.start()
    for _ in range(100):
        if pid_file.exists() and pid_file.read_text():
            break
        time.sleep(0.1)
    worker = int(pid_file.read_text())
    os.kill(parent.pid, signal.SIGKILL)
    parent.join(timeout=10)
    for _ in range(100):
        try:
            os.kill(worker, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        os.kill(worker, signal.SIGKILL)
        pytest.fail("the worker outlived its killed parent")


def _stuck_then_quick(storage: str, index: int) -> None:
    """Worker 0 runs a trial past its limit inside a call no signal interrupts; others finish one."""
    import signal

    from textauto.search.workers import worker_id

    study = optuna.load_study(study_name="s", storage=storage)
    trial = study.ask()
    trial.set_user_attr("worker", worker_id())
    if index == 0:
        trial.set_user_attr("limit", 0.5)
        trial.set_user_attr("limit_at", time.monotonic() + 0.5)
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})  # as inside liblinear
        time.sleep(600)
    study.tell(trial, float(index))


def _crash_then_quick(storage: str, index: int) -> None:
    """Worker 0 dies mid-trial as if the out-of-memory killer took it; others finish one."""
    import os
    import signal

    from textauto.search.workers import worker_id

    study = optuna.load_study(study_name="s", storage=storage)
    trial = study.ask()
    trial.set_user_attr("worker", worker_id())
    if index == 0:
        os.kill(os.getpid(), signal.SIGKILL)
    study.tell(trial, float(index))


def _supervised(tmp_path, work):
    import functools

    from textauto.search.workers import supervise

    storage = f"sqlite:///{tmp_path / 's.db'}"
    study = optuna.create_study(study_name="s", storage=storage)
    study.tell(study.ask(), 9.0)  # finished before: not passed to the callbacks again
    seen = []
    started = time.monotonic()
    supervise(
        study, 1, functools.partial(work, storage), [lambda s, t: seen.append(t.number)],
        lambda: 60 - (time.monotonic() - started),
    )  # fmt: skip
    return study, seen, time.monotonic() - started


def test_supervisor_stops_a_worker_past_its_trial_limit_and_replaces_it(tmp_path):
    from textauto.bundle import leaderboard

    study, seen, seconds = _supervised(tmp_path, _stuck_then_quick)
    assert seconds < 20  # stopped at its limit plus the grace, not after 600 s
    _, stuck, successor = study.trials
    assert stuck.state == optuna.trial.TrialState.PRUNED
    assert successor.state == optuna.trial.TrialState.COMPLETE and successor.value == 1.0  # a new index
    assert seen == [1, 2]  # each trial finished in this run reaches the callbacks once
    note = leaderboard(study.trials, "minimize").set_index("trial").loc[1, "note"]
    assert note == "stopped: over its time limit of 0.5s (its worker was stopped)"


def test_supervisor_fails_the_trial_of_a_crashed_worker_and_replaces_it(tmp_path):
    from textauto.search.study import failure_notes

    study, seen, seconds = _supervised(tmp_path, _crash_then_quick)
    assert seconds < 20
    _, crashed, successor = study.trials
    assert crashed.state == optuna.trial.TrialState.FAIL
    notes = failure_notes(study)
    assert notes == {1: "failed: its worker died (killed by SIGKILL, as the out-of-memory killer does)"}
    assert successor.state == optuna.trial.TrialState.COMPLETE and successor.value == 1.0
    assert seen == [1, 2]


def test_the_cost_model_learns_from_a_stopped_trial():
    from textauto.cost.model import CostModel
    from textauto.cost.refit import Timings
    from textauto.search.records import known_timings, stopped_timings

    params = {"representation": "word", "classifier": "linear_svc"}
    stopped = optuna.trial.create_trial(
        state=optuna.trial.TrialState.PRUNED, params={}, distributions={},
        user_attrs={"limit": 30.0, "feature_seconds": 4.0},
    )  # fmt: skip
    assert stopped_timings(stopped) == Timings(4.0, 26.0)
    stopped.params = params  # create_trial needs distributions for params; the model reads only names
    costs = CostModel(train_fraction=0.8, n_folds=1)
    costs.sync([(stopped.number, stopped.params, known_timings(stopped))])
    assert costs.expected(params)[0] >= 30.0
    # a trial pruned for its score, or stopped by its own alarm, says so: no bound is made up
    note = {"limit": 30.0, "stopped": "pruned: below the median"}
    pruned = optuna.trial.create_trial(state=optuna.trial.TrialState.PRUNED, user_attrs=note)
    assert stopped_timings(pruned) is None


def test_exit_reasons_name_the_signal_or_the_code():
    from textauto.search.workers import _exit_reason

    assert _exit_reason(-9) == "killed by SIGKILL, as the out-of-memory killer does"
    assert _exit_reason(-15) == "killed by SIGTERM"
    assert _exit_reason(-40) == "killed by signal 40"
    assert _exit_reason(1) == "exit code 1"


def _one_trial(storage: str, index: int) -> None:
    """A worker that completes one trial, valued at its index."""
    study = optuna.load_study(study_name="s", storage=storage)
    study.tell(study.ask(), float(index))


def test_a_later_supervised_run_starts_its_workers_at_new_indices(tmp_path):
    """Each worker's sampler is seeded from its index: a search that goes on must not retrace
    the first run's samplers."""
    import functools

    from textauto.search.workers import supervise

    storage = f"sqlite:///{tmp_path / 's.db'}"
    study = optuna.create_study(study_name="s", storage=storage)
    work = functools.partial(_one_trial, storage)
    started = time.monotonic()

    def left() -> float:
        return 60 - (time.monotonic() - started)

    following = supervise(study, 2, work, [], left)
    assert following == 2
    assert supervise(study, 2, work, [], left, first=following) == 4
    assert sorted(t.value for t in study.trials) == [0.0, 1.0, 2.0, 3.0]
