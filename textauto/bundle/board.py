"""The leaderboard: one row per trial, best first, with why a trial failed or was stopped."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from optuna.trial import TrialState

from textauto.search.ranking import by_score, settle_leads
from textauto.search.records import Origin, TrialRecord, stopped_timings


def stop_note(trial: Any) -> str:
    """The note of a trial whose worker the supervisor stopped at its time limit, else ""."""
    if stopped_timings(trial) is None:
        return ""
    return (
        f"stopped: over its time limit of {TrialRecord.from_trial(trial).limit:.1f}s (its worker was stopped)"
    )


def share_note(record: TrialRecord) -> str:
    """The note of a trial fitted on a share of the rows (a cheaper fidelity), else ""."""
    if record.share >= 1.0:
        return ""
    return f"fitted on {record.share:.0%} of each fold's training rows: all of them cost too much"


def leaderboard(
    trials: Sequence[Any], direction: str, failure_notes: Mapping[int, str] | None = None
) -> pd.DataFrame:
    """One row per trial, best first (as the refit ranks them, ``ranked_rows``): number, state,
    score, seconds, when it finished, note, then parameters.

    ``failure_notes``: why the supervisor failed trials (``study.failure_notes``)."""
    failure_notes = failure_notes or {}
    starts = [t.datetime_start for t in trials if t.datetime_start]
    first = min(starts) if starts else None
    rows = []
    for t in trials:
        if t.state == TrialState.WAITING:  # queued but never run (the budget ran out first)
            continue
        duration = (
            (t.datetime_complete - t.datetime_start).total_seconds()
            if t.datetime_complete and t.datetime_start
            else None
        )
        record = TrialRecord.from_trial(t)
        note = record.error or record.stopped or stop_note(t) or share_note(record)
        if not note and t.state == TrialState.FAIL:
            note = failure_notes.get(t.number, "")
        rows.append(
            {
                "trial": t.number,
                "state": t.state.name.lower(),
                "score": t.value if t.state == TrialState.COMPLETE else None,
                "duration_s": round(duration, 3) if duration is not None else None,
                # when it ended, in seconds since the study's first trial started
                "finished_s": round((t.datetime_complete - first).total_seconds(), 3)
                if t.datetime_complete and first
                else None,
                "portfolio": record.origin is Origin.PORTFOLIO,
                "note": note,
                **{f"param.{k}": v for k, v in t.params.items()},
            }
        )
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    complete = frame["state"] == "complete"
    ranked = ranked_rows(frame[complete], trials, direction)
    return pd.concat([ranked, frame[~complete]], ignore_index=True)


def ranked_rows(rows: pd.DataFrame, trials: Sequence[Any], direction: str) -> pd.DataFrame:
    """Completed trials' rows in the order the refit ranks them (``search.ranking``): by score,
    except that an earlier trial within the noise of a higher score comes first, and says so."""
    order = [t.number for t in settle_leads(by_score(trials, direction), direction)]
    out = rows.set_index("trial").loc[order].reset_index()
    sign = 1.0 if direction == "maximize" else -1.0
    scores = sign * out["score"].to_numpy(dtype=float)
    for i in range(len(out) - 1):
        # the trial that led when this one was ranked: the best score below it
        lead = i + 1 + int(np.argmax(scores[i + 1 :]))
        if scores[lead] > scores[i]:
            out.loc[i, "note"] = _joined(out.loc[i, "note"], outranks(int(out.loc[lead, "trial"])))
    return out


def outranks(trial: int) -> str:
    return (
        f"ranked above trial {trial}, whose higher score leads it within the noise of their fold "
        "scores: this one ran first"
    )


def _joined(note: str, more: str) -> str:
    return f"{note}; {more}" if note else more
