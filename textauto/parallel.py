"""Trials in parallel processes that share the study's storage (``search.n_jobs``).

Workers are forked after the data is loaded, so they share it without copying or pickling.
Each has its own sampler seed and caches, and stops on the same clock as the parent.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import time
import traceback
from collections.abc import Callable

import optuna
from optuna.trial import TrialState

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
JOIN_GRACE = 1.0  # seconds a worker may run into the refit's time before it is stopped


def available_cores() -> int:
    """Cores this process may run on (the affinity mask, as in a container), else the CPU count."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def resolve_n_jobs(n_jobs: int) -> int:
    """``n_jobs`` with -1 meaning one process per available core."""
    return available_cores() if n_jobs == -1 else n_jobs


def start_workers(n: int, work: Callable[[int], None]) -> list[multiprocessing.Process]:
    """Fork ``n`` processes running ``work(worker_index)``; indices start at 1."""
    ctx = multiprocessing.get_context("fork")
    parent = os.getpid()
    procs = [ctx.Process(target=_run, args=(work, i, parent), daemon=True) for i in range(1, n + 1)]
    for p in procs:
        p.start()
    return procs


def _die_with_parent(parent: int) -> None:
    """Have the kernel kill this worker when its parent dies (Linux), so a killed run leaves
    no worker writing to its study; elsewhere workers end at the deadline by themselves."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def _run(work: Callable[[int], None], index: int, parent: int) -> None:
    _die_with_parent(parent)
    try:
        work(index)
    except BaseException:  # a worker's failure must not take the parent down
        traceback.print_exc()
        os._exit(1)
    # os._exit: skip finalizers that would close database connections inherited from the parent
    os._exit(0)


def join_workers(procs: list[multiprocessing.Process], seconds_left: float, study: optuna.Study) -> None:
    """Wait up to ``seconds_left`` for the workers; stop any still running and fail its trial.

    The caller passes the time left before the refit must start: a worker's late trial must not
    delay the refit, nor compete with it for the cores.
    """
    until = time.monotonic() + max(seconds_left, 0.0) + JOIN_GRACE
    for p in procs:
        p.join(timeout=max(until - time.monotonic(), 0.0))
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
