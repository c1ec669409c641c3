"""Budget arithmetic: how long the search may run, and what to hold back for the refit."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

from textauto.space import needs_calibration

# Refit + temperature calibration on `calibration_folds` folds costs about this many full fits.
CALIBRATION_FACTOR = 3.0
SAFETY = 1.3  # timings wander; keep a margin


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


def refit_seconds(params: dict[str, Any], attrs: dict[str, Any], train_fraction: float) -> float:
    """Expected seconds to refit a trial's pipeline on all data (with calibration if needed)."""
    fit = attrs.get("fit_seconds")
    if fit is None:
        return 0.0
    seconds = fit / max(train_fraction, 0.05) * SAFETY
    if needs_calibration(params):
        seconds *= CALIBRATION_FACTOR
    return seconds + 0.5
