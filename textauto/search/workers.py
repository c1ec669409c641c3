"""Trials in worker processes that share the study's storage (``search.n_jobs``).

Workers are forked after the data is loaded, so they share it without copying or pickling.
Each has its own sampler seed and caches, and stops on the same clock as the parent. The
parent runs no trial itself: it supervises. It runs the callbacks as trials finish, and stops
a worker whose trial runs past its hard limit (``limit_at``, set by the trial) even inside a
C call no signal can interrupt, such as liblinear; another worker takes its place.
"""

from __future__ import annotations

import ctypes
import math
import multiprocessing
import multiprocessing.connection
import os
import resource
import signal
import socket
import time
import traceback
from collections.abc import Callable, Sequence

import optuna
from optuna.trial import FrozenTrial, TrialState

from textauto.search.records import TrialRecord
from textauto.search.study import fail_with_note

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
JOIN_GRACE = 1.0  # seconds a worker may run into the refit's time before it is stopped
MAX_RESTARTS = 2  # per worker: replacements for workers stopped or crashed, so a crash cannot loop
KILL_GRACE = 2.0  # seconds past a trial's limit before its worker is stopped (the alarm goes first)
SUPERVISE_POLL = 1.0  # seconds between the supervisor's looks at the study (or when a worker ends)
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)


def available_cores() -> int:
    """Cores this process may run on (the affinity mask, as in a container), else the CPU count."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def resolve_n_jobs(n_jobs: int) -> int:
    """``n_jobs`` with -1 meaning one process per available core."""
    return available_cores() if n_jobs == -1 else n_jobs


def start_workers(n: int, work: Callable[[int], None], first: int = 1) -> list[multiprocessing.Process]:
    """Fork ``n`` processes running ``work(worker_index)``; indices start at ``first``."""
    ctx = multiprocessing.get_context("fork")
    parent = os.getpid()
    procs = [ctx.Process(target=_run, args=(work, i, parent), daemon=True) for i in range(first, first + n)]
    for p in procs:
        p.start()
    return procs


def worker_id(pid: int | None = None) -> str:
    """A trial's ``worker`` attribute: host and pid, unique among machines sharing a study."""
    return f"{socket.gethostname()}:{os.getpid() if pid is None else pid}"


def supervise(
    study: optuna.Study,
    n: int,
    work: Callable[[int], None],
    callbacks: Sequence[Callable[[optuna.Study, FrozenTrial], None]],
    seconds_left: Callable[[], float],
    first: int = 0,
) -> int:
    """Run ``work`` in ``n`` workers until they end or ``seconds_left()`` runs out, then join them;
    returns the next unused worker index.

    Indices ``first``..``first``+n-1 first; a worker stopped for an overdue trial, or dead of its
    own accord (say the kernel's out-of-memory killer), is replaced by a new index, so its
    successor's sampler does not retrace its steps (nor does a later call's, from ``first``).
    Each trial that finishes in this run is passed to ``callbacks`` here, once. Workers never
    outlive this call, even when it is interrupted.
    """
    seen = {t.number for t in study.get_trials(deepcopy=False, states=FINISHED)}
    workers = start_workers(n, work, first=first)
    next_index, restarts = first + n, 0
    try:
        while True:
            live = [p.sentinel for p in workers if p.is_alive()]
            if not live or seconds_left() <= 0:
                break
            multiprocessing.connection.wait(live, timeout=SUPERVISE_POLL)  # or sooner, when one ends
            trials = study.get_trials(deepcopy=False)
            _report(study, trials, seen, callbacks)
            gone = _stop_overdue(study, trials, workers) | _fail_crashed(study, workers)
            if gone and restarts < MAX_RESTARTS * n:
                workers = [p for p in workers if p.pid not in gone]
                workers += start_workers(len(gone), work, first=next_index)
                next_index += len(gone)
                restarts += len(gone)
        join_workers(workers, seconds_left(), study)
    except BaseException:
        join_workers(workers, -JOIN_GRACE, study)
        raise
    _report(study, study.get_trials(deepcopy=False), seen, callbacks)
    return next_index


def _report(
    study: optuna.Study,
    trials: list[FrozenTrial],
    seen: set[int],
    callbacks: Sequence[Callable[[optuna.Study, FrozenTrial], None]],
) -> None:
    """Pass each newly finished trial to the callbacks (``seen``: the trials already passed)."""
    for trial in trials:
        if trial.state in FINISHED and trial.number not in seen:
            seen.add(trial.number)
            for callback in callbacks:
                callback(study, trial)


def _stop_overdue(
    study: optuna.Study, trials: list[FrozenTrial], workers: list[multiprocessing.Process]
) -> set[int]:
    """Kill the workers whose running trial is past its ``limit_at``; prune that trial."""
    mine = {worker_id(p.pid): p for p in workers if p.is_alive()}
    now = time.monotonic()
    running = [(t.number, TrialRecord.from_trial(t)) for t in trials if t.state == TrialState.RUNNING]
    overdue = {
        number: r.worker
        for number, r in running
        if r.worker in mine and now > (r.limit_at if r.limit_at is not None else math.inf) + KILL_GRACE
    }
    if not overdue:
        return set()
    stopped = set()
    # Look again just before stopping: the worker may have finished that trial meanwhile.
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if overdue.get(trial.number) == TrialRecord.from_trial(trial).worker:
            process = mine[overdue[trial.number]]
            process.kill()
            process.join(timeout=5)
            study.tell(trial.number, state=TrialState.PRUNED, skip_if_finished=True)
            stopped.add(process.pid)
    return stopped


def _fail_crashed(study: optuna.Study, workers: list[multiprocessing.Process]) -> set[int]:
    """Fail the trials of workers that died by themselves (not stopped here); their pids."""
    crashed = {worker_id(p.pid): p for p in workers if p.exitcode not in (None, 0)}
    if not crashed:
        return set()
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        process = crashed.get(TrialRecord.from_trial(trial).worker)
        if process is not None:
            reason = _exit_reason(process.exitcode)
            fail_with_note(study, [trial.number], f"failed: its worker died ({reason})")
    return {p.pid for p in crashed.values()}


def _exit_reason(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:  # a real-time signal has no name
            name = f"signal {-exitcode}"
        cause = ", as the out-of-memory killer does" if exitcode == -signal.SIGKILL else ""
        return f"killed by {name}{cause}"
    return f"exit code {exitcode}"


def limit_memory(extra_bytes: int) -> int | None:
    """Cap this process's data memory at what it holds now plus ``extra_bytes``; the cap, or
    None where the system does not report it.

    RLIMIT_DATA (heap and private writable mappings) rather than RLIMIT_AS: address space
    also counts library mappings and the arenas malloc reserves without using them.
    """
    try:
        with open("/proc/self/status") as status:
            held = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmData:"))
    except (OSError, StopIteration):
        return None
    _, hard = resource.getrlimit(resource.RLIMIT_DATA)
    cap = held + extra_bytes if hard == resource.RLIM_INFINITY else min(held + extra_bytes, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (cap, hard))
    return cap


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
    except KeyboardInterrupt:  # Ctrl-C reaches every process: the parent reports it
        os._exit(130)
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
        ids = {worker_id(pid) for pid in stopped}
        running = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
        late = [t.number for t in running if TrialRecord.from_trial(t).worker in ids]
        fail_with_note(study, late, "stopped: still running when the search ended (the refit had begun)")
