"""Trials in parallel processes that share the study's storage (``search.n_jobs``).

Workers are forked after the data is loaded, so they share it without copying or pickling.
Each has its own sampler seed and caches, and stops on the same clock as the parent.
"""

from __future__ import annotations

import multiprocessing
import os
import traceback
from collections.abc import Callable

import optuna
from optuna.trial import TrialState

JOIN_GRACE = 10.0  # seconds a worker may run past the deadline before it is stopped


def start_workers(n: int, work: Callable[[int], None]) -> list[multiprocessing.Process]:
    """Fork ``n`` processes running ``work(worker_index)``; indices start at 1."""
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_run, args=(work, i), daemon=True) for i in range(1, n + 1)]
    for p in procs:
        p.start()
    return procs


def _run(work: Callable[[int], None], index: int) -> None:
    try:
        work(index)
    except BaseException:  # a worker's failure must not take the parent down
        traceback.print_exc()
        os._exit(1)
    # os._exit: skip finalizers that would close database connections inherited from the parent
    os._exit(0)


def join_workers(procs: list[multiprocessing.Process], seconds_left: float, study: optuna.Study) -> None:
    """Wait for the workers; stop any still running past the deadline and fail its trial."""
    for p in procs:
        p.join(timeout=max(seconds_left, 0.0) + JOIN_GRACE)
    stopped = set()
    for p in procs:
        if p.is_alive():
            p.kill()
            p.join(timeout=5)
            stopped.add(p.pid)
    if stopped:
        for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            if trial.user_attrs.get("worker") in stopped:
                study.tell(trial.number, state=TrialState.FAIL, skip_if_finished=True)
