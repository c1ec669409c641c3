from __future__ import annotations

import time

import optuna
import pytest

from textauto.config import build_config
from textauto.exceptions import ConfigError
from textauto.parallel import available_cores, join_workers, resolve_n_jobs, start_workers


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
