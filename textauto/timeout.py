"""A hard time limit on a block of trial code, from SIGALRM.

A fold is usually a single call that can run far past its estimate (a slow-converging solver);
the alarm interrupts it at the next Python-level step (tokenizing, solver iterations, boosting
rounds). Code inside a single C call (liblinear) finishes that call first. Works in the main
thread of a Unix process, which is where trials run (the search process and its forked workers);
elsewhere the limit is not enforced.

A loop of similar steps inside the block (boosting rounds, one-vs-rest fits) can also stop as
soon as its pace shows that the limit would interrupt it (``stop_if_late``), instead of spending
the time first.
"""

from __future__ import annotations

import math
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

# A loop is stopped early only when even this share of its projected time would overrun: steps
# vary, and stopping one that would have finished wastes what it had done.
PACE_MARGIN = 0.8

_deadlines: list[float] = []  # time.monotonic() at which each active limit fires, innermost last


class TrialTimeout(Exception):
    """The block ran past its time limit, or was stopped as sure to.

    ``remaining``: seconds the stopped work was projected still to need (0 when the alarm
    stopped it), so that what it would have cost can be learned.
    """

    def __init__(self, remaining: float = 0.0) -> None:
        super().__init__(remaining)
        self.remaining = remaining


def _raise(signum: int, frame: object) -> None:
    raise TrialTimeout


def _enforced() -> bool:
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise ``TrialTimeout`` inside the block once ``seconds`` have passed."""
    if not _enforced() or math.isinf(seconds):
        yield
        return
    if seconds <= 0:
        raise TrialTimeout
    previous = signal.signal(signal.SIGALRM, _raise)
    _deadlines.append(time.monotonic() + seconds)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        _deadlines.pop()


def stop_if_late(started: float, done: int, total: int) -> None:
    """Raise ``TrialTimeout`` now if the ``total - done`` steps left of a loop, at the pace of
    the ``done`` taken since ``started`` (``time.monotonic()``), would run past the active
    ``time_limit``: the alarm would stop them there anyway, once the time was spent.

    A no-op outside a limit, or outside the thread the limit interrupts.
    """
    if not _deadlines or not 0 < done < total or not _enforced():
        return
    now = time.monotonic()
    remaining = (now - started) / done * (total - done)
    if now + PACE_MARGIN * remaining > _deadlines[-1]:
        raise TrialTimeout(remaining)
