"""A hard time limit on a block of trial code, from SIGALRM.

A fold is usually a single call that can run far past its estimate (a slow-converging solver);
the alarm interrupts it at the next Python-level step (tokenizing, solver iterations, boosting
rounds). Code inside a single C call (liblinear) finishes that call first. Works in the main
thread of a Unix process, which is where trials run (the search process and its forked workers);
elsewhere the limit is not enforced.
"""

from __future__ import annotations

import math
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class TrialTimeout(Exception):
    """The block ran past its time limit."""


def _raise(signum: int, frame: object) -> None:
    raise TrialTimeout


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise ``TrialTimeout`` inside the block once ``seconds`` have passed."""
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable or math.isinf(seconds):
        yield
        return
    if seconds <= 0:
        raise TrialTimeout
    previous = signal.signal(signal.SIGALRM, _raise)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
