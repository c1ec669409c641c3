"""Live search progress for the CLI: trials done, best score so far, time left."""

from __future__ import annotations

import math
import time
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from textauto.search.records import TrialRecord
from textauto.validation.metrics import METRICS


class SearchProgress:
    """An Optuna callback that shows progress: a live bar on a terminal, else a line per new best."""

    def __init__(self, console: Console, metric: str, budget: float | None, n_trials: int | None) -> None:
        self.console = console
        self.metric = METRICS[metric]
        self.budget = budget
        self.n_trials = n_trials
        self.started = time.monotonic()
        self.best: float | None = None
        self.done = 0
        self.live = console.is_terminal
        self._progress: Progress | None = None
        self._task: Any = None

    def __enter__(self) -> SearchProgress:
        if self.live:
            self._progress = Progress(
                TextColumn("[bold]searching"),
                BarColumn(),
                TextColumn("{task.fields[status]}"),
                TimeElapsedColumn(),
                console=self.console,
                transient=True,
            )
            total = self.budget if self.budget else (self.n_trials or None)
            self._task = self._progress.add_task("search", total=total, status="starting")
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def time_left(self) -> float:
        if self.budget is None:
            return math.inf
        return max(self.budget - (time.monotonic() - self.started), 0.0)

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        self.done += 1
        improved = trial.state == TrialState.COMPLETE and (
            self.best is None or self.metric.better(trial.value, self.best)  # type: ignore[arg-type]
        )
        if improved:
            self.best = trial.value
        best = "-" if self.best is None else f"{self.best:.4f}"
        left = "" if math.isinf(self.time_left()) else f" · {self.time_left():.0f}s left"
        status = f"{self.done} trials · best {self.metric.name} {best}{left}"
        if self._progress is not None:
            completed = (time.monotonic() - self.started) if self.budget else self.done
            self._progress.update(self._task, completed=completed, status=status)
        elif improved:
            what = f"{trial.params.get('representation')} + {trial.params.get('classifier')}"
            self.console.print(f"trial {trial.number}: new best {self.metric.name} {best} ({what}){left}")
        if trial.state == TrialState.FAIL:
            self.console.print(
                f"trial {trial.number} failed: {TrialRecord.from_trial(trial).error or 'unknown error'}"
            )


def summary_table(manifest: dict[str, Any], board: Any, top: int = 5) -> Table:
    table = Table(title=f"top {top} of {len(board)} trials ({manifest['metric']}, validation)")
    for col in ("trial", "score", "seconds", "representation", "classifier"):
        table.add_column(col)
    for r in board.head(top).to_dict("records"):
        score, seconds = r.get("score"), r.get("duration_s")
        table.add_row(
            str(r["trial"]),
            "-" if score is None or score != score else f"{score:.4f}",
            "-" if seconds is None or seconds != seconds else f"{seconds:.1f}",
            str(r.get("param.representation", "")),
            str(r.get("param.classifier", "")),
        )
    return table
