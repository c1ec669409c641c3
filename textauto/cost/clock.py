"""The run's clock: one deadline that the search, the refit and the saving all answer to."""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Clock:
    """A deadline on ``time.monotonic()``; ``None`` means no time limit."""

    deadline: float | None
    started: float = field(default_factory=time.monotonic)

    @classmethod
    def from_budget(cls, seconds: float | None, started: float | None = None) -> Clock:
        start = time.monotonic() if started is None else started
        return cls(None if seconds is None else start + seconds, start)

    def left(self) -> float:
        return math.inf if self.deadline is None else self.deadline - time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def expired(self) -> bool:
        return self.left() <= 0


def process_started() -> float:
    """When this process started, on the ``time.monotonic()`` clock (Linux), else now.

    A command's budget covers interpreter start-up and imports too, not only the search.
    """
    try:
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        start_ticks = int(fields[19])  # field 22, counted after the process name
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        age = uptime - start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return time.monotonic()
    return time.monotonic() - min(max(age, 0.0), 60.0)
