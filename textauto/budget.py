"""Budget arithmetic: how long the search may run, and what to hold back for the refit."""

from __future__ import annotations

import math
import os
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from textauto.space import needs_calibration

# Temperature calibration (2 folds, ensemble=False) fits the classifier on each half of the
# data and once on all of it: about 2 classifier fits; the featurizer is fit once.
CALIBRATION_FACTOR = 2.0
SAFETY = 1.2  # timings wander; keep a margin


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


def refit_seconds(params: dict[str, Any], attrs: dict[str, Any], train_fraction: float) -> float:
    """Expected seconds to refit a trial's pipeline on all data (with calibration if needed).

    A fold's featurizer time already covers every row (fit on train, transform validation);
    its classifier time grows with the share of rows it was fit on.
    """
    features = attrs.get("feature_seconds")
    classifier = attrs.get("classifier_seconds")
    if features is None or classifier is None:
        return 0.0
    if needs_calibration(params):
        classifier *= CALIBRATION_FACTOR
    return (features + classifier / max(train_fraction, 0.05)) * SAFETY + 0.5


class CostModel:
    """What a configuration costs, learned from the trials this process has finished.

    Keyed by representation and classifier: the two choices that decide most of the cost.
    Used to skip a trial that could not finish, with its refit, in the time left.
    """

    def __init__(self, train_fraction: float) -> None:
        self.train_fraction = train_fraction
        self._seen: dict[tuple[str, str], list[tuple[float, float]]] = defaultdict(list)

    @staticmethod
    def _key(params: dict[str, Any]) -> tuple[str, str]:
        return str(params.get("representation")), str(params.get("classifier"))

    def record(self, params: dict[str, Any], attrs: dict[str, Any], seconds: float) -> None:
        self._seen[self._key(params)].append((seconds, refit_seconds(params, attrs, self.train_fraction)))

    def expected(self, params: dict[str, Any]) -> tuple[float, float] | None:
        """Expected (trial seconds, refit seconds) of a configuration like ``params``, if known.

        Falls back from the same representation and classifier, to the same representation, to
        any representation sharing a featurizer with it (``char`` is inside ``word+char``).
        """
        representation, classifier = self._key(params)
        parts = set(representation.split("+"))
        for alike in (
            lambda r, c: (r, c) == (representation, classifier),
            lambda r, c: r == representation,
            lambda r, c: bool(parts & set(r.split("+"))),
        ):
            seen = [cost for (r, c), runs in self._seen.items() if alike(r, c) for cost in runs]
            if seen:
                return max(s for s, _ in seen), max(r for _, r in seen)
        return None

    def cheapest(self) -> float | None:
        """The shortest trial seen: below this much time left, no trial can finish."""
        durations = [s for runs in self._seen.values() for s, _ in runs]
        return min(durations) if durations else None
